"""Front matter from uploaded files is read defensively: no alias expansion, no duplicate keys, no odd shapes."""

import pytest

from runbooks import frontmatter
from runbooks.importing import import_directory, parse_file
from runbooks.importing.report import FileProblem

BILLION_LAUGHS = """---
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
title: *i
---
# Bomb
"""


def test_billion_laughs_is_refused_before_it_is_expanded(monkeypatch):
    def never(*args, **kwargs):
        raise AssertionError("the YAML was constructed")

    monkeypatch.setattr(frontmatter._StrictLoader, "construct_document", never)

    with pytest.raises(frontmatter.FrontMatterError, match="anchors or aliases"):
        frontmatter.split(BILLION_LAUGHS)


def test_a_single_alias_is_refused():
    with pytest.raises(frontmatter.FrontMatterError, match="anchors or aliases"):
        frontmatter.split("---\nteam: &t Payments\nowner: *t\n---\nText\n")


def test_front_matter_over_the_size_limit_is_refused():
    big = "---\nsummary: " + "x" * (frontmatter.MAX_BYTES + 1) + "\n---\nText\n"

    with pytest.raises(frontmatter.FrontMatterError, match="over the 16,384-byte limit"):
        frontmatter.split(big)


def test_duplicate_key_is_reported_with_its_line():
    with pytest.raises(frontmatter.FrontMatterError, match=r"states 'severity' twice \(line 3\)"):
        frontmatter.split("---\nseverity: P1\nseverity: P3\n---\nText\n")


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("title: [a, b]", "'title' must be text, not a list"),
        ("summary: {a: 1}", "'summary' must be text, not a mapping"),
        ("owner: [eddie]", "'owner' must be text, not a list"),
        ("tags: [[a, b]]", "'tags' must be a list of names"),
        ("alerts: {KubeAPIDown: 1}", "'alerts' must be a list of names"),
    ],
)
def test_lists_or_mappings_where_text_is_expected_are_refused(yaml_text, message):
    with pytest.raises(FileProblem, match=message):
        parse_file("x.md", f"---\n{yaml_text}\n---\n# X\n\nText.\n")


@pytest.mark.django_db
def test_unsafe_front_matter_fails_only_its_own_file(tmp_path):
    (tmp_path / "bomb.md").write_text(BILLION_LAUGHS)
    (tmp_path / "twice.md").write_text("---\ntitle: A\ntitle: B\n---\n# T\n\nText.\n")
    (tmp_path / "fine.md").write_text("---\ntitle: Fine\n---\nText.\n")

    report = import_directory(tmp_path)

    assert {r.path for r in report.failed} == {"bomb.md", "twice.md"}
    assert "anchors or aliases" in report.result_for("bomb.md").reason
    assert report.result_for("fine.md").status == "created"
