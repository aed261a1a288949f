"""Pure-function tests for runbooks.markdown (no database, no Django)."""

import dataclasses
from html.parser import HTMLParser

import pytest

from runbooks.markdown import (
    ALLOWED_PROTOCOLS,
    ALLOWED_TAGS,
    Rendered,
    heading_titles,
    render,
    render_markdown,
)

FORBIDDEN = ("<script", "onerror", "onload", "javascript:", "data:")
FORBIDDEN_TAGS = {"script", "style", "iframe", "object", "embed", "form", "svg", "math"}


class _TagCollector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def parsed_tags(output: str) -> list[tuple[str, dict[str, str | None]]]:
    collector = _TagCollector()
    collector.feed(output)
    collector.close()
    return collector.tags


def assert_no_xss(output: str) -> None:
    lowered = output.lower()
    for needle in FORBIDDEN:
        assert needle not in lowered, f"{needle!r} survived in {output!r}"


# --- basic rendering --------------------------------------------------------


def test_empty_string_renders_to_empty_html_and_toc():
    assert render_markdown("") == ""
    assert render("") == Rendered(html="", toc=[])
    assert heading_titles("") == []


def test_rendered_is_frozen_dataclass():
    result = render("## A")
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.html = "x"  # type: ignore[misc]


def test_render_markdown_matches_render_html():
    text = "# T\n\nSome *text* and `code`.\n\n## Sub\n"
    assert render_markdown(text) == render(text).html


def test_output_is_deterministic():
    text = "## A\n\n| a | b |\n|---|--:|\n| 1 | 2 |\n\n```bash\nls\n```\n\n- [x] x\n"
    assert render_markdown(text) == render_markdown(text)


def test_tables_render():
    html = render_markdown("| Host | Port |\n|:-----|-----:|\n| db1 | 5432 |\n")
    assert "<table>" in html
    assert "<th" in html and "Host</th>" in html
    assert "<td" in html and "db1</td>" in html


def test_table_alignment_keeps_only_text_align_style():
    html = render_markdown("| a | b |\n|:-:|--:|\n| 1 | 2 |\n")
    assert 'style="text-align: center;"' in html
    assert 'style="text-align: right;"' in html


def test_raw_style_other_than_text_align_is_stripped():
    html = render_markdown(
        '<table><tr><td style="color: red; text-align: left">x</td></tr></table>'
    )
    assert "color" not in html
    assert "style=" not in html


def test_fenced_code_keeps_language_class():
    html = render_markdown("```bash\nkubectl get pods\n```\n")
    assert '<pre><code class="language-bash">kubectl get pods' in html


def test_fenced_code_gets_copy_button():
    html = render_markdown("```bash\nls\n```\n")
    assert html.startswith(
        '<div class="code-block"><button type="button" class="copy-button" data-copy="">'
        "Copy</button><pre>"
    )
    assert html.rstrip().endswith("</pre></div>")


def test_every_pre_gets_exactly_one_copy_button():
    html = render_markdown("```\na\n```\n\ntext\n\n    indented code\n\n<pre>raw</pre>\n")
    assert html.count("<pre>") == 3
    assert html.count('class="copy-button"') == 3
    assert html.count('<div class="code-block">') == 3


def test_fenced_code_escapes_html_inside():
    html = render_markdown("```html\n<script>alert(1)</script>\n```\n")
    assert "&lt;script&gt;" in html
    assert "<script" not in html


def test_fenced_code_inside_list_item_renders_as_code_block():
    html = render_markdown("1. Restart:\n\n    ```bash\n    systemctl restart app\n    ```\n")
    assert '<code class="language-bash">systemctl restart app' in html
    assert "<ol>" in html


def test_ordered_list_keeps_start_number():
    html = render_markdown("3. third\n4. fourth\n")
    assert '<ol start="3">' in html


def test_headings_get_ids_and_permalinks():
    html = render_markdown("## Roll back\n\n### Verify it\n\n#### Details\n")
    for slug in ("roll-back", "verify-it", "details"):
        assert f'id="{slug}"' in html
        assert f'<a class="headerlink" href="#{slug}" title="Permanent link">\u00b6</a>' in html


def test_headings_level_two_and_three_appear_in_toc():
    result = render("# Title\n\n## Roll back\n\n### Verify *it*\n\n#### Too deep\n\n## Escalate\n")
    assert result.toc == [
        (2, "roll-back", "Roll back"),
        (3, "verify-it", "Verify it"),
        (2, "escalate", "Escalate"),
    ]


def test_toc_text_is_unescaped_plain_text():
    result = render("## Check `<pod>` & logs\n")
    assert result.toc == [(2, "check-pod-logs", "Check <pod> & logs")]


def test_duplicate_headings_get_unique_ids():
    result = render("## Step\n\n## Step\n")
    ids = [anchor for _, anchor, _ in result.toc]
    assert len(set(ids)) == 2
    for anchor in ids:
        assert f'id="{anchor}"' in result.html


def test_task_list_renders_checkboxes():
    html = render_markdown("- [ ] drain node\n- [x] page on-call\n")
    assert '<ul class="task-list">' in html
    assert '<li class="task-list-item"><input type="checkbox" disabled> drain node</li>' in html
    assert (
        '<li class="task-list-item"><input type="checkbox" checked disabled> page on-call</li>'
        in html
    )


def test_non_checkbox_inputs_are_removed():
    html = render_markdown('<input type="text" value="x"><input type="password">')
    assert "<input" not in html


def test_nl2br_is_not_enabled():
    assert "<br" not in render_markdown("line one\nline two\n")


def test_attr_list_is_not_enabled():
    html = render_markdown('## Heading {: onclick="x()" }\n\n[x](/a){: onmouseover="y()" }\n')
    attrs = [name for _, tag_attrs in parsed_tags(html) for name in tag_attrs]
    assert not [name for name in attrs if name.startswith("on")]
    assert '<a href="/a">x</a>' in html


# --- sanitising ---------------------------------------------------------------


def test_allow_list_constants_are_explicit():
    assert {"http", "https", "mailto"} == set(ALLOWED_PROTOCOLS)
    for tag in ("script", "style", "iframe", "object", "embed", "form", "svg", "math"):
        assert tag not in ALLOWED_TAGS


def test_unknown_tags_are_stripped_keeping_text():
    html = render_markdown("<p>keep <blink>this</blink> <marquee>text</marquee></p>")
    assert "<blink" not in html and "<marquee" not in html
    assert "keep this text" in html


def test_allowed_raw_html_passes_through():
    html = render_markdown("<details><summary>More</summary>\n\nHidden *part*\n\n</details>\n")
    assert "<details>" in html and "<summary>More</summary>" in html


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param("<script>alert(1)</script>", id="script-tag"),
        pytest.param("<SCRIPT SRC=//evil.example/x.js></SCRIPT>", id="script-src"),
        pytest.param('<img src="x" onerror="alert(1)">', id="img-onerror"),
        pytest.param("<img src=x onerror=alert(1)//>", id="img-onerror-unquoted"),
        pytest.param('<a href="javascript:alert(1)">x</a>', id="href-javascript"),
        pytest.param('<a href="JaVaScRiPt:alert(1)">x</a>', id="href-mixed-case"),
        pytest.param('<a href="jav&#x09;ascript:alert(1)">x</a>', id="href-tab-entity"),
        pytest.param('<a href="jav&#x0A;ascript:alert(1)">x</a>', id="href-newline-entity"),
        pytest.param('<a href="&#106;avascript:alert(1)">x</a>', id="href-decimal-entity"),
        pytest.param(
            '<a href="&#x6A;&#x61;&#x76;&#x61;&#x73;&#x63;&#x72;&#x69;&#x70;&#x74;:alert(1)">x</a>',
            id="href-hex-entities",
        ),
        pytest.param('<a href="  javascript:alert(1)">x</a>', id="href-leading-space"),
        pytest.param('<a href="\x01javascript:alert(1)">x</a>', id="href-control-char"),
        pytest.param('<a href="vbscript:msgbox(1)">x</a>', id="href-vbscript"),
        pytest.param(
            '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
            id="href-data",
        ),
        pytest.param('<img src="data:image/svg+xml;base64,PHN2Zz4=">', id="img-src-data"),
        pytest.param("![x](data:image/png;base64,AAAA)", id="markdown-image-data"),
        pytest.param("![x](javascript:alert(1))", id="markdown-image-javascript"),
        pytest.param(
            '<p style="width: expression(alert(1)); background: url(javascript:alert(1))">x</p>',
            id="style-expression-url",
        ),
        pytest.param(
            '<table><tr><td style="text-align: url(javascript:alert(1))">x</td></tr></table>',
            id="style-text-align-url",
        ),
        pytest.param('<iframe src="javascript:alert(1)"></iframe>', id="iframe"),
        pytest.param("<svg onload=alert(1)><circle r=1 /></svg>", id="svg-onload"),
        pytest.param("<body onload=alert(1)>", id="body-onload"),
        pytest.param("<math><mi xlink:href=javascript:alert(1)>x</mi></math>", id="math"),
        pytest.param('<object data="javascript:alert(1)"></object>', id="object"),
        pytest.param('<embed src="javascript:alert(1)">', id="embed"),
        pytest.param(
            '<form action="javascript:alert(1)"><button>go</button></form>', id="form-action"
        ),
        pytest.param("[x](javascript:alert(1))", id="markdown-link-javascript"),
        pytest.param("[x](JAVASCRIPT:alert(1))", id="markdown-link-upper"),
        pytest.param("[x](jav&#x09;ascript:alert(1))", id="markdown-link-entity"),
        pytest.param("[x][ref]\n\n[ref]: javascript:alert(1)", id="markdown-reference-link"),
        pytest.param("<javascript:alert(1)>", id="autolink-javascript"),
        pytest.param('<http://example.com/" onmouseover="alert(1)>', id="autolink-attr-break"),
        pytest.param('<a href="https://ok.example" onclick="alert(1)">x</a>', id="onclick"),
        pytest.param('<div onmouseover="alert(1)">x</div>', id="div-event-handler"),
        pytest.param("<style>@import 'javascript:alert(1)';</style>", id="style-tag"),
    ],
)
def test_xss_payload_is_neutralised(payload):
    html = render_markdown(payload)
    assert_no_xss(html)
    for tag, attrs in parsed_tags(html):
        assert tag not in FORBIDDEN_TAGS
        assert not [name for name in attrs if name.startswith("on")]
        assert "style" not in attrs


def test_event_handler_attributes_are_removed_from_allowed_tags():
    html = render_markdown('<a href="/x" onclick="steal()" title="t">x</a>')
    assert html == '<p><a href="/x" title="t">x</a></p>'


def test_img_allows_only_http_and_https_sources():
    html = render_markdown("![ok](https://img.example/a.png) ![bad](mailto:a@b.c)")
    assert 'src="https://img.example/a.png"' in html
    assert "mailto:" not in html


# --- links ----------------------------------------------------------------------


def test_external_links_get_rel_nofollow_noopener():
    html = render_markdown("[docs](https://docs.example.com/page)")
    assert html == (
        '<p><a href="https://docs.example.com/page" rel="nofollow noopener">docs</a></p>'
    )


def test_markdown_autolink_to_external_site_gets_rel():
    html = render_markdown("<https://status.example.com>")
    assert 'href="https://status.example.com"' in html
    assert 'rel="nofollow noopener"' in html


def test_raw_html_external_link_rel_cannot_be_overridden():
    html = render_markdown('<a href="http://evil.example" rel="opener">x</a>')
    assert 'rel="nofollow noopener"' in html
    assert 'rel="opener"' not in html


def test_internal_and_anchor_links_do_not_get_rel():
    html = render_markdown("[a](/runbooks/1/) [b](#rollback) [c](mailto:oncall@example.com)")
    assert "rel=" not in html
    assert 'href="mailto:oncall@example.com"' in html


# --- heading_titles ---------------------------------------------------------------


def test_heading_titles_lists_all_levels_in_order():
    text = "# Title\n\n## Symptoms\n\n### Check\n\n#### A\n\n##### B\n\n###### C\n"
    assert heading_titles(text) == ["Title", "Symptoms", "Check", "A", "B", "C"]


def test_heading_titles_ignores_code_fences():
    text = (
        "## Diagnosis\n\n"
        "```bash\n# this is a shell comment\n## not a heading either\n```\n\n"
        "~~~\n# nor this\n~~~\n\n"
        "## Rollback\n"
    )
    assert heading_titles(text) == ["Diagnosis", "Rollback"]


def test_heading_titles_returns_plain_text():
    assert heading_titles("## Roll back **now** & `verify`\n") == ["Roll back now & verify"]


def test_heading_titles_includes_setext_headings():
    assert heading_titles("Summary\n=======\n\nSteps\n-----\n") == ["Summary", "Steps"]


# --- robustness ----------------------------------------------------------------------


def test_large_input_renders_without_crashing():
    block = "## Step {i}\n\nRun `cmd {i}` and see [docs](https://ex.com/{i}).\n\n"
    text = "".join(block.format(i=i) for i in range(300))
    result = render(text)
    assert result.html.startswith('<h2 id="step-0">')
    assert len(result.toc) == 300


def test_paragraph_with_thousands_of_link_brackets_renders_as_plain_text_quickly():
    result = render("[" * 50_000 + "<script>alert(1)</script>")
    assert result.html.startswith("<pre>")
    assert "<script" not in result.html
