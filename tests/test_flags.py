"""The flagd file: parse, resolve, change one flag atomically, restore."""

from __future__ import annotations

import json

import pytest

from warroom.contain import flags
from warroom.core.errors import InvalidInput, NotFound

DOC = {
    "flags": {"a": {"state": "ENABLED", "variants": {"on": 1, "off": 0}, "defaultVariant": "on"}}
}


def test_resolved_values_follow_state_and_default_variant():
    doc = {
        "flags": {
            "on": {"state": "ENABLED", "variants": {"x": {"limit": 5}}, "defaultVariant": "x"},
            "off": {"state": "DISABLED", "variants": {"x": 1}, "defaultVariant": "x"},
            "implicit": {"variants": {"y": "yes"}, "defaultVariant": "y"},
        }
    }
    assert flags.resolved(doc) == {"on": {"limit": 5}, "off": None, "implicit": "yes"}


def test_set_flag_keeps_the_files_style_and_leaves_no_temp_file(tmp_path):
    compact = tmp_path / "compact.json"
    compact.write_bytes(json.dumps(DOC).encode())  # one line, no trailing newline
    change = flags.set_flag(compact, "a", variant="off")
    assert b"\n" not in change.after and change.old["defaultVariant"] == "on"
    pretty = tmp_path / "pretty.json"
    pretty.write_text(json.dumps(DOC, indent=2) + "\n")
    flags.set_flag(pretty, "a", state="disabled")
    text = pretty.read_text()
    assert text.endswith("}\n") and '  "flags"' in text and '"DISABLED"' in text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["compact.json", "pretty.json"]


def test_restore_is_byte_for_byte_when_untouched(tmp_path):
    path = tmp_path / "flags.json"
    original = b'{"flags":{"a":{"variants":{"on":1,"off":0},"defaultVariant":"on"}}}  \n'
    path.write_bytes(original)
    change = flags.set_flag(path, "a", variant="off")
    how = flags.restore(path, before=change.before, after=change.after, flag="a", old=change.old)
    assert how == "restored byte for byte" and path.read_bytes() == original


def test_bad_files_and_names_are_refused(tmp_path):
    path = tmp_path / "flags.json"
    with pytest.raises(NotFound, match="does not exist"):
        flags.load(path)
    path.write_text("{nope")
    with pytest.raises(InvalidInput, match="not valid JSON"):
        flags.load(path)
    path.write_text('{"features": {}}')
    with pytest.raises(InvalidInput, match='"flags"'):
        flags.load(path)
    path.write_text(json.dumps(DOC))
    with pytest.raises(NotFound, match="flags there: a"):
        flags.set_flag(path, "b", variant="off")
    with pytest.raises(InvalidInput, match="no variant 'maybe'"):
        flags.set_flag(path, "a", variant="maybe")
    with pytest.raises(InvalidInput, match="ENABLED or DISABLED"):
        flags.set_flag(path, "a", state="paused")
    assert json.loads(path.read_text()) == DOC
