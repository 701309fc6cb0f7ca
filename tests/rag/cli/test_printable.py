from rag.cli.common import printable


def test_invisible_and_control_characters_are_shown_as_escapes() -> None:
    assert printable("常见问题 FAQ.txt") == "常见问题 FAQ.txt"
    assert printable("evil\u202egpj.txt") == "evil\\u202egpj.txt"
    assert printable("a\x1b[31mred\x07\tb") == "a\\x1b[31mred\\x07\\x09b"
    assert printable("zero\u200bwidth") == "zero\\u200bwidth"
