"""User text shown as written: control and bidi characters visible, Markdown inert."""

from medlearn.text import visible


def test_controls_and_bidi_overrides_are_shown_as_escape_codes():
    assert visible("scan\u202egnp.exe") == "scan\\u202egnp.exe"  # right-to-left override
    assert visible("a\x1b[31mred\nline") == "a\\x1b[31mred\\nline"  # terminal escape, line break
    assert visible("zero\u200bwidth") == "zero\\u200bwidth"
    assert visible("ordinary name (1).png") == "ordinary name (1).png"
    assert visible("x" * 1000).endswith("…") and len(visible("x" * 1000)) == 300


def test_markdown_in_a_file_name_is_inert():
    from ui.shared.text import plain

    name = "![x](http://127.0.0.1/p.png) `code` [link](http://a) \\ *b*"
    shown = plain(name)
    i = 0
    while i < len(shown):  # every Markdown character comes escaped; the text is otherwise the same
        if shown[i] == "\\":
            assert shown[i + 1] in "\\`*_{}[]()#+-.!|<>~$:=&"
            i += 2
            continue
        assert shown[i] not in "`*_[]()!<>\\"
        i += 1
    assert shown.replace("\\", "") == name.replace("\\", "")
