"""Flag plans against the runbook's own commands, and env files parsed as the application does."""

import re
import shutil
from pathlib import Path

import pytest

from rollout_gates.config import flags
from rollout_gates.config.ledger import MAX_PARALLEL, SHADOW, V3
from rollout_gates.core import layout
from rollout_gates.core.errors import UsageError

# The runbook's steps as excerpts in the repository (the runbook itself sits beside the
# checkout on the development machine only): the commands are checked in CI and in a clean
# clone too, with no skip; only the check that the copy is verbatim needs the original.
RUNBOOK_FIXTURE = Path(__file__).parent / "fixtures" / "runbook.txt"
RUNBOOK_SOURCE = layout.PROJECT_ROOT.parent / "shared" / "seeds" / "000_cfb8426ff147fbd1.txt"
EXCERPT_HEADING = re.compile(r"^===== runbook lines (\d+)-(\d+) =====$", re.MULTILINE)


def runbook_excerpts() -> dict[tuple[int, int], str]:
    """(first line, last line) in the runbook -> the excerpt's text, from the fixture."""
    parts = EXCERPT_HEADING.split(RUNBOOK_FIXTURE.read_text())
    return {
        (int(first), int(last)): body.strip("\n") + "\n"
        for first, last, body in zip(parts[1::3], parts[2::3], parts[3::3], strict=True)
    }


def runbook_section(title: str) -> list[str]:
    """The `vercel env add` and `# When prompted` lines of one runbook step, as written."""
    [section] = [text for text in runbook_excerpts().values() if text.startswith(title + "\n")]
    block = section[section.index("```bash") : section.index("```", section.index("```bash") + 7)]
    wanted = re.compile(r"^(vercel env add \S+ production|# (When prompted, e|E)nter: \S+)$")
    lines = [line.strip() for line in block.splitlines() if wanted.match(line.strip())]
    return [line.replace("# Enter:", "# When prompted, enter:") for line in lines]


def test_the_runbook_fixture_is_verbatim():
    """Each excerpt reads as the runbook's lines it names, wherever the runbook is at hand."""
    if not RUNBOOK_SOURCE.exists():  # a clean clone, CI: the commands are still checked above
        pytest.skip(f"the runbook is not beside the checkout ({RUNBOOK_SOURCE})")
    source = RUNBOOK_SOURCE.read_text().splitlines(keepends=True)
    excerpts = runbook_excerpts()
    assert len(excerpts) == 3
    for (first, last), text in excerpts.items():
        assert "".join(source[first - 1 : last]) == text, f"runbook lines {first}-{last}"


@pytest.mark.parametrize(
    ("phase", "title"),
    [
        ("shadow", "### Step 1: Set Shadow Mode Environment Variables"),
        ("full", "### Step 1: Flip to Full Mode"),
        ("rollback", "### Immediate Rollback (If Issues Detected)"),
    ],
)
def test_plan_gives_the_runbooks_commands(phase, title):
    planned = [
        line
        for line in flags.plan_commands(phase, "production")
        if "vercel env" in line or "When prompted" in line
    ]
    assert planned == runbook_section(title)
    assert "vercel --prod" in flags.plan_commands(phase, "production")


def test_scale_plan_is_one_step_at_a_time_below_the_cap():
    assert flags.plan_scale(3, 4, "production", cap=5)[:2] == [
        "vercel env add FEATURE_ASSIGNMENT_PIPELINE_V3_MAX_PARALLEL production",
        "# When prompted, enter: 4",
    ]
    with pytest.raises(UsageError, match="one step at a time"):
        flags.plan_scale(3, 5, "production", cap=5)
    with pytest.raises(UsageError, match="past the cap"):
        flags.plan_scale(5, 6, "production", cap=5)


def test_scale_plan_takes_its_cap_from_the_scale_gate_params(cli, tmp_path):
    params = tmp_path / "params"
    shutil.copytree(layout.params_dir(), params)
    defaults = params / "defaults.yaml"
    defaults.write_text(defaults.read_text().replace("max_parallel_cap: 5", "max_parallel_cap: 4"))
    four_to_five = ("flags", "plan", "scale", "--env", "production", "--from", "4", "--to", "5")
    assert cli(*four_to_five).returncode == 0, "below the default cap of 5"
    refused = cli(*four_to_five, env={"ROLLOUT_PARAMS_DIR": str(params)})
    assert refused.returncode == 2 and "past the cap of 4" in refused.stderr
    given = cli(*four_to_five, "--cap", "6", env={"ROLLOUT_PARAMS_DIR": str(params)})
    assert given.returncode == 0, "--cap wins over the parameter"


def full(**values):
    return {V3: "true", SHADOW: "false", MAX_PARALLEL: "3"} | values


@pytest.mark.parametrize(
    ("values", "mismatched"),
    [
        (full(), set()),
        (full(**{V3: "TRUE"}), {V3}),
        (full(**{V3: "1"}), {V3}),
        ({SHADOW: "false", MAX_PARALLEL: "3"}, {V3}),
        (full(**{MAX_PARALLEL: "0"}), {MAX_PARALLEL}),
        (full(**{MAX_PARALLEL: "30"}), {MAX_PARALLEL}),
        (full(**{MAX_PARALLEL: "7"}), {MAX_PARALLEL}),
    ],
)
def test_env_values_are_checked_as_the_application_reads_them(values, mismatched):
    assert {m.variable for m in flags.check_env_values(values, "full")} == mismatched


def test_application_parsing_of_each_flag():
    assert flags.app_value(V3, "TRUE") == "false", "only the exact word true switches V3 on"
    assert flags.app_value(V3, None) == "false"
    assert flags.app_value(MAX_PARALLEL, None) == "3", "unset, the default applies"
    assert flags.app_value(MAX_PARALLEL, "0") is None, "outside 1-50: invalid, not the default"
    assert flags.app_value(MAX_PARALLEL, "three") is None
    assert flags.app_value(MAX_PARALLEL, "30") == "20", "1-50 is clamped to 20"
    assert flags.app_value(MAX_PARALLEL, "7") == "7"


def test_an_invalid_max_parallel_is_reported_as_unknown_not_as_the_default():
    [mismatch] = flags.check_env_values({V3: "true", SHADOW: "false", MAX_PARALLEL: "0"}, "full")
    assert mismatch.app_reads is None
    assert "not an integer 1-50" in mismatch.describe() and "reads '3'" not in mismatch.describe()
    with pytest.raises(UsageError, match="not an integer 1-50"):
        flags.validate_setting(MAX_PARALLEL, "0")


def test_v3_wins_over_shadow():
    assert flags.effective_mode({V3: "true", SHADOW: "true"}) == "full"
    assert flags.effective_mode({V3: "false", SHADOW: "true"}) == "shadow"


def test_env_file_quotes_and_comments(tmp_path):
    path = tmp_path / ".env.production.local"
    path.write_text(
        "# Created by Vercel CLI\n"
        f'{V3}="true"\n'
        f"{SHADOW}='false'\n"
        f"export {MAX_PARALLEL}=3\n"
        'OTHER="x=y"\n'
    )
    values = flags.read_env_file(path)
    assert values == {V3: "true", SHADOW: "false", MAX_PARALLEL: "3", "OTHER": "x=y"}
    assert flags.check_env_values(values, "full") == []


def test_recorded_values_must_be_ones_the_application_accepts():
    assert flags.validate_setting(MAX_PARALLEL, "4") == "4"
    with pytest.raises(UsageError, match="would read"):
        flags.validate_setting(V3, "True")
    with pytest.raises(UsageError, match="unknown flag"):
        flags.validate_setting("FEATURE_ASSIGNMENT_PIPELINE_V4", "true")


def test_record_appends_changes_with_the_old_values(cli, tmp_path):
    from rollout_gates.config.ledger import read_ledger
    from rollout_gates.core.layout import ledger_path

    first = cli(
        "flags", "record", "--env", "production", "--output-dir", str(tmp_path),
        "--set", f"{MAX_PARALLEL}=3", "--by", "ana", "--at", "2026-11-20T10:00:00Z",
    )  # fmt: skip
    second = cli(
        "flags", "record", "--env", "production", "--output-dir", str(tmp_path),
        "--set", f"{MAX_PARALLEL}=4", "--by", "ben", "--at", "2026-11-22T10:00:00Z",
    )  # fmt: skip
    assert first.returncode == second.returncode == 0, first.stderr + second.stderr
    changes = read_ledger(ledger_path(tmp_path, "production"))
    assert [(c.old, c.new, c.by) for c in changes] == [(None, "3", "ana"), ("3", "4", "ben")]
    refused = cli(
        "flags", "record", "--env", "production", "--output-dir", str(tmp_path),
        "--set", f"{V3}=TRUE",
    )  # fmt: skip
    assert refused.returncode == 2 and "would read" in refused.stderr
    assert len(read_ledger(ledger_path(tmp_path, "production"))) == 2, "nothing was appended"
