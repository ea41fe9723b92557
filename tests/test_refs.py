"""Refs: the names people give runs and artifacts, parsed and printed back alike."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from lineage import refs, times
from lineage.errors import InvalidRef, InvalidTime, UsageError

HEX = "0123456789abcdef"
STEPS = st.from_regex(re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,15}"), fullmatch=True)
VALUES = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.,:/+",
    min_size=1,
    max_size=24,
)
# From the first nine-digit Unix second: eight digits are a date, YYYYMMDD.
MOMENTS = st.datetimes(
    min_value=datetime(1973, 3, 4), max_value=datetime(2999, 1, 1), timezones=st.just(UTC)
)


def all_hex(text: str) -> bool:
    return re.fullmatch(r"[0-9a-fA-F]{4,32}", text) is not None


@st.composite
def time_texts(draw: st.DrawFn) -> str:
    """Any time form a ref may carry after its '@'."""
    moment = draw(MOMENTS)
    form = draw(st.sampled_from(["precise", "shown", "date", "compact", "unix", "word"]))
    if form == "precise":
        return times.format_precise(moment)
    if form == "shown":
        return times.format_time(moment)
    if form == "date":
        return moment.date().isoformat()
    if form == "compact":
        return moment.strftime("%Y%m%d%H%M%S")
    if form == "unix":
        return str(int(moment.timestamp()))
    return draw(st.sampled_from(["today", "yesterday"]))


# -- round trips ------------------------------------------------------------------------------


@given(st.text(alphabet=HEX + HEX.upper(), min_size=4, max_size=32))
def test_id_prefix_round_trips_in_lowercase(prefix: str) -> None:
    ref = refs.parse_ref(prefix)
    assert ref == refs.IdRef(prefix.lower())
    assert refs.parse_ref(str(ref)) == ref


@given(STEPS, VALUES)
def test_step_value_round_trips(step: str, value: str) -> None:
    ref = refs.IdentityRef(step, value)
    assert str(ref) == f"{step}:{value}"
    assert refs.parse_ref(str(ref)) == ref


@given(STEPS, VALUES, time_texts())
def test_step_value_at_time_round_trips(step: str, value: str, when: str) -> None:
    ref = refs.IdentityRef(step, value, times.parse_window(when), when)
    assert str(ref) == f"{step}:{value}@{when}"
    parsed = refs.parse_ref(str(ref))
    if when in ("today", "yesterday") and parsed.window != ref.window:
        return  # midnight passed between the two parses; the text still round trips
    assert parsed == ref


@given(STEPS)
def test_bare_step_round_trips_unless_it_reads_as_an_id(step: str) -> None:
    assume(not all_hex(step))
    ref = refs.IdentityRef(step)
    assert refs.parse_ref(str(ref)) == ref


@given(STEPS, MOMENTS)
def test_exact_time_ref_names_the_moment_shown_for_a_run(step: str, moment: datetime) -> None:
    # `lineage show` prints times to the microsecond; pasting one back must name that moment.
    ref = refs.parse_ref(f"{step}:v@{times.format_precise(moment)}")
    assert isinstance(ref, refs.IdentityRef)
    assert ref.window is not None
    assert ref.window.start == moment
    assert moment in ref.window
    # The second-precision form people read also holds the moment.
    coarse = refs.parse_ref(f"{step}:v@{times.format_time(moment)}")
    assert coarse.window is not None and moment in coarse.window


# -- each form, by example --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3f2a9c", refs.IdRef("3f2a9c")),
        ("3F2A9C", refs.IdRef("3f2a9c")),
        ("  3f2a  ", refs.IdRef("3f2a")),
        ("deadbeef", refs.IdRef("deadbeef")),  # an all-hex word of 4+ chars is an id
        ("process", refs.IdentityRef("process")),
        ("add", refs.IdentityRef("add")),  # too short to be an id prefix
        ("process:plain", refs.IdentityRef("process", "plain")),
        ("load:transactions,customers", refs.IdentityRef("load", "transactions,customers")),
        ("train:a:b", refs.IdentityRef("train", "a:b")),
    ],
)
def test_form(text: str, expected: refs.Ref) -> None:
    assert refs.parse_ref(text) == expected


def test_date_ref_names_the_whole_utc_day() -> None:
    ref = refs.parse_ref("process:plain@2026-11-20")
    assert isinstance(ref, refs.IdentityRef)
    assert (ref.step, ref.value, ref.time_text) == ("process", "plain", "2026-11-20")
    assert ref.window == times.Window(
        datetime(2026, 11, 20, tzinfo=UTC), datetime(2026, 11, 21, tzinfo=UTC)
    )


def test_exact_ref_names_one_second() -> None:
    ref = refs.parse_ref("process:plain@2026-11-20T10:15:02Z")
    assert isinstance(ref, refs.IdentityRef)
    assert ref.window == times.parse_window("2026-11-20T10:15:02Z")
    assert ref.window.end - ref.window.start == timedelta(seconds=1)


def test_step_at_time_without_value() -> None:
    ref = refs.parse_ref("load@2026-11-20")
    assert ref == refs.IdentityRef("load", None, times.parse_window("2026-11-20"), "2026-11-20")


# -- malformed refs ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["", "   ", "process:", ":plain", "process:plain@", "@2026-11-20", "9step:x", "a b", "!!"],
)
def test_malformed_ref_names_the_accepted_forms(text: str) -> None:
    with pytest.raises(InvalidRef) as caught:
        refs.parse_ref(text)
    message = str(caught.value)
    assert "id prefix" in message
    assert "step:value" in message
    assert "\n" not in message
    assert isinstance(caught.value, UsageError) and caught.value.exit_code == 2


def test_malformed_time_in_a_ref_names_the_time_forms() -> None:
    with pytest.raises(InvalidTime) as caught:
        refs.parse_ref("process:plain@2026-13-45")
    message = str(caught.value)
    assert "'2026-13-45'" in message
    assert "YYYYMMDDHHMMSS" in message and "Unix seconds" in message
    assert caught.value.exit_code == 2


@given(st.text(alphabet=" !#$%^&*()[]{}<>?'\"", min_size=1, max_size=10))
def test_punctuation_is_never_a_ref(text: str) -> None:
    with pytest.raises(InvalidRef):
        refs.parse_ref(text)


# -- artifact refs ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("xxh128:9a4f", True),
        ("xxh128:" + "ab" * 16, True),
        ("xxh128:9a4", False),  # too short a prefix
        ("xxh128:zzzz", False),
        ("load:abcd", False),
        ("9a4f0000", False),
        ("train:LogisticRegression:model.pkl", False),
    ],
)
def test_is_hash(text: str, expected: bool) -> None:
    assert refs.is_hash(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("process:plain:features", ("process:plain", "features")),
        ("3f2a9c:model.pkl", ("3f2a9c", "model.pkl")),
        ("train:lr@2026-11-20T10:15:02Z:model.pkl", ("train:lr@2026-11-20T10:15:02Z", "model.pkl")),
    ],
)
def test_split_artifact_ref_at_its_last_colon(text: str, expected: tuple[str, str]) -> None:
    assert refs.split_artifact_ref(text) == expected


@pytest.mark.parametrize("text", ["model.pkl", ":model.pkl", "train:lr:", ""])
def test_artifact_ref_without_a_name_says_how_to_write_one(text: str) -> None:
    with pytest.raises(InvalidRef, match=r"use REF:NAME, such as train:"):
        refs.split_artifact_ref(text)
