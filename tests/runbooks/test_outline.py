"""The outline of a runbook, read from Python-Markdown's own tree."""

from runbooks import shapes
from runbooks.outline import outline


def test_the_outline_gives_sections_with_their_path_and_commands():
    sections = outline(
        "# T\n\n## Resolution\n\n### Immediate\n\nRun:\n\n```sh\nls -l\n```\n"
    ).sections
    assert [(s.level, s.title, s.path) for s in sections] == [
        (1, "T", ("T",)),
        (2, "Resolution", ("T", "Resolution")),
        (3, "Immediate", ("T", "Resolution", "Immediate")),
    ]
    assert [b.kind for b in sections[2].blocks] == ["paragraph", "code"]
    assert sections[2].blocks[1].command.code == "ls -l"
    assert sections[2].blocks[1].command.language == "sh"


def test_the_outline_ignores_headings_inside_code_and_reads_setext_ones():
    assert outline("Title\n=====\n\n```\n# not a heading\n```\n\nSteps\n-----\n").headings == [
        "Title",
        "Steps",
    ]


def test_a_list_item_keeps_its_paragraphs_task_state_and_commands():
    [block] = (
        outline("- [x] Drain the node\n\n    ```sh\n    kubectl drain n1\n    ```\n")
        .sections[0]
        .blocks
    )
    [item] = block.items
    assert (item.text, item.task, item.checked) == ("Drain the node", True, True)
    assert [c.code for c in item.commands] == ["kubectl drain n1"]


def test_the_required_section_check_reads_the_outline():
    assert shapes.missing_sections_in(
        "procedure", "## Prerequisites\n\n## Procedure\n\n```\n## Verification\n```\n"
    ) == ["Verification"]
