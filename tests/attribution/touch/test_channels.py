from hypothesis import given
from hypothesis import strategies as st

from attribution.touch.channels import normalize_channel


def test_spellings_of_one_channel_become_one():
    assert normalize_channel("Facebook/VSL-Cold") == "facebook/vsl-cold"
    assert normalize_channel("  facebook/vsl-cold ") == "facebook/vsl-cold"
    assert normalize_channel("Spring   Launch\tB") == "spring launch b"


def test_no_value_is_the_empty_channel():
    assert normalize_channel(None) == ""
    assert normalize_channel("   ") == ""


def test_full_width_letters_fold_like_plain_ones():
    assert normalize_channel("ＦＢ") == "fb"


@given(st.text())
def test_normalising_twice_changes_nothing(text):
    once = normalize_channel(text)
    assert normalize_channel(once) == once
