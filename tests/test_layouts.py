import pytest

from digits.layouts import Label, parse


@pytest.mark.parametrize(
    ("relpath", "layout", "expected"),
    [
        ("7_george_12.wav", "fsdd", Label(7, "george", 12)),
        ("0_yweweler_0.wav", "auto", Label(0, "yweweler", 0)),
        ("03/4_03_21.wav", "audiomnist", Label(4, "03", 21)),
        ("03/4_03_21.wav", "auto", Label(4, "03", 21)),
        ("9/hello.wav", "folders", Label(9, None, None)),
        ("clips/5/take two.wav", "auto", Label(5, None, None)),
    ],
)
def test_layouts_read_digit_speaker_and_take(relpath: str, layout: str, expected: Label) -> None:
    assert parse(relpath, layout) == expected


@pytest.mark.parametrize(
    ("relpath", "layout"),
    [
        ("x_george_1.wav", "auto"),  # digit is not a number
        ("12_george_1.wav", "auto"),  # not a single digit
        ("7_george.wav", "auto"),  # no take
        ("7_george_x.wav", "auto"),
        ("unknown/7_george_1.wav", "auto"),  # folder is neither the speaker nor a digit
        ("03/4_04_21.wav", "audiomnist"),  # folder and name disagree on the speaker
        ("9/hello.wav", "fsdd"),  # fits another layout only
        ("7_george_1.wav", "folders"),
        ("ten/hello.wav", "auto"),
    ],
)
def test_paths_that_fit_no_layout_are_unlabelled(relpath: str, layout: str) -> None:
    assert parse(relpath, layout) is None


def test_unknown_layout_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown layout"):
        parse("1_a_1.wav", "timit")
