"""Rate checks: red flags and criteria (DESIGN.md, "Statistics"); pure.

Two kinds of rate check, both on stats.py's exact, peek-safe bounds:

- a red flag (the runbook's rollback triggers) FAILs only when the rate is confidently
  beyond its limit; the point estimate alone beyond it is a WARN (advisory); it PASSes
  with `min_decided` decided bookings, and is INCONCLUSIVE with fewer;
- a criterion (a condition to proceed) PASSes when the point estimate meets the limit on
  `min_decided` decided bookings, saying whether the bound meets it too ("certified");
  FAILs when the rate is confidently beyond it; is INCONCLUSIVE otherwise.

Every INCONCLUSIVE and every uncertified PASS says how many more decided bookings at the
current rate would decide (or certify) it, and about when at the window's volume.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ..core.outcomes import MANUAL_REVIEW, NOT_CONFIRMED
from ..core.stats import (
    METHOD,
    Limit,
    Proportion,
    bookings_to_decide,
    log_mixture_ratio,
    percent,
    time_for,
)
from ..core.timefmt import format_duration
from ..core.verdict import Behind, Check, RateEvidence, Status


@dataclass(frozen=True)
class RateRule:
    """One rate against one limit: the check's id and name, and how sure a verdict must be."""

    check_id: str
    name: str  # "success rate"
    limit: Limit
    min_decided: int
    confidence: float
    against: tuple[str, ...]  # the outcome classes (outcomes.py) that count against the rate

    def text(self, over: str = "") -> str:
        if self.limit.at_least:
            comparison = ">" if self.limit.strict else ">="
        else:
            comparison = "<" if self.limit.strict else "<="
        tail = f" over {over}" if over else ""
        return f"{self.name} {comparison} {percent(self.limit.value)}{tail}"

    def side(self) -> str:
        """How a breach reads: at a strict limit the limit itself breaches it."""
        if self.limit.strict:
            return "not above" if self.limit.at_least else "not below"
        return "below" if self.limit.at_least else "above"


def success_rule(limit: float, params, min_decided: int | None = None) -> RateRule:
    """ "success rate >= limit", judged at the gate's confidence on its `min_decided`."""
    return RateRule(
        "success_rate",
        "success rate",
        Limit(limit, at_least=True),
        params.min_decided if min_decided is None else min_decided,
        params.confidence,
        NOT_CONFIRMED,
    )


def manual_review_rule(limit: float, params, *, strict: bool, min_decided=None) -> RateRule:
    """ "manual review rate <= limit" (strict: "< limit", the runbook's "< 1%")."""
    return RateRule(
        "manual_review_rate",
        "manual review rate",
        Limit(limit, at_least=False, strict=strict),
        params.min_decided if min_decided is None else min_decided,
        params.confidence,
        (MANUAL_REVIEW,),
    )


@dataclass(frozen=True)
class Sample:
    """A rate seen over one window: its bookings, what to call it, and its volume."""

    proportion: Proportion
    label: str  # "the last hour", "48h"
    hours: float  # the window's length, for "about when at the current volume"
    as_of: datetime

    @classmethod
    def ending(cls, proportion: Proportion, as_of: datetime, length: timedelta) -> "Sample":
        """The rate over the `length` before the as-of, called by its length ("48h")."""
        return cls(proportion, about(length), length / timedelta(hours=1), as_of)

    @property
    def per_hour(self) -> float:
        return self.proportion.n / self.hours if self.hours > 0 else 0.0

    def behind(self, rule: RateRule) -> Behind:
        """Where the bookings that count against `rule` over this sample are."""
        return Behind(
            start=self.as_of - timedelta(hours=self.hours), end=self.as_of, outcomes=rule.against
        )


def about(duration: timedelta) -> str:
    """A rough duration as the runbook counts time: 10m, 8h, 48h; whole days from 3 days."""
    for unit, size, below in (("m", 60, 3600), ("h", 3600, 3 * 86400), ("d", 86400, None)):
        if below is None or duration.total_seconds() < below - size / 2:
            return f"{max(1, round(duration.total_seconds() / size))}{unit}"


def volume_note(extra: int, sample: Sample) -> tuple[str, datetime | None]:
    """'about 8h at 1.1 decided/h, around 2026-11-30 03:00 UTC' for `extra` more bookings."""
    wait = time_for(extra, sample.per_hour)
    if wait is None:
        return "no decided bookings arrive at the current volume", None
    when = sample.as_of + wait
    text = (
        f"about {about(wait)} at {sample.per_hour:.1f} decided/h, around "
        f"{when.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
    )
    return text, when


def evidence_of(
    rule: RateRule, sample: Sample, looks: int = 1, to_decide: int | None = None, when=None
) -> RateEvidence:
    proportion = sample.proportion
    low, high = proportion.bounds(rule.confidence, looks) or (None, None)
    return RateEvidence(
        window=sample.label,
        decided=proportion.n,
        count=proportion.k,
        rate=proportion.rate,
        low=low,
        high=high,
        method=METHOD,
        confidence=rule.confidence,
        looks=looks,
        certified=rule.limit.confidently_met(proportion, rule.confidence, looks),
        bookings_to_decide=to_decide,
        decidable_at=when,
    )


def rate_check(
    rule: RateRule,
    sample: Sample,
    status: Status,
    detail: str,
    to_decide: int | None = None,
    when=None,
    over: str = "",
) -> Check:
    """A rate's Check; one with no decided booking says so (no_data), never met."""
    proportion = sample.proportion
    return Check(
        no_data=not proportion.n,
        id=rule.check_id,
        rule=rule.text(over),
        status=status,
        detail=detail,
        observed=proportion.rate,
        threshold=rule.limit.value,
        sample_size=proportion.n,
        interval=proportion.bounds(rule.confidence),
        evidence=evidence_of(rule, sample, 1, to_decide, when),
        behind=[sample.behind(rule)] if status is Status.FAIL else [],
    )


def decided_bookings(count: int) -> str:
    return f"{count} more decided booking{'' if count == 1 else 's'}"


def _confident(rule: RateRule) -> str:
    return f"the whole {percent(rule.confidence)} bound"


def _fail_after(rule: RateRule, sample: Sample) -> tuple[str, int | None, datetime | None]:
    """How many more at this rate would make a breach on the point estimate a FAIL."""
    extra = bookings_to_decide(sample.proportion, rule.limit, rule.confidence, certify=False)
    if extra is None:
        return "", None, None
    note, when = volume_note(extra, sample)
    return f"; at this rate a FAIL after {decided_bookings(extra)} ({note})", extra, when


def _needed(rule: RateRule, sample: Sample) -> tuple[str, int, datetime | None]:
    extra = rule.min_decided - sample.proportion.n
    note, when = volume_note(extra, sample)
    return f"judged on {rule.min_decided} decided: {decided_bookings(extra)} ({note})", extra, when


def settled_either_way(rule: RateRule, sample: Sample, seen: str, over: str) -> Check | None:
    """What both kinds of rate check say first: nothing decided is INCONCLUSIVE (no data),
    and a rate confidently beyond its limit is a FAIL; None when neither holds."""
    proportion, limit = sample.proportion, rule.limit
    if not proportion.n:
        text, extra, when = _needed(rule, sample)
        return rate_check(
            rule, sample, Status.INCONCLUSIVE,
            f"no decided bookings over {sample.label}; {text}", extra, when, over,
        )  # fmt: skip
    if limit.confidently_breached(proportion, rule.confidence):
        return rate_check(
            rule, sample, Status.FAIL,
            f"{seen}: {_confident(rule)} is {rule.side()} {percent(limit.value)}", 0, None, over,
        )  # fmt: skip
    return None


def judge_red_flag(rule: RateRule, sample: Sample, over: str = "") -> Check:
    """One window against a rollback trigger (DESIGN, "Statistics": red flags)."""
    proportion, limit = sample.proportion, rule.limit
    seen = f"{rule.name} {proportion.describe(rule.confidence)} over {sample.label}"
    settled = settled_either_way(rule, sample, seen, over)
    if settled is not None:
        return settled
    beyond = limit.breached_by(proportion.rate)
    if proportion.n < rule.min_decided:
        text, extra, when = _needed(rule, sample)
        fail_text, fail_extra, fail_when = _fail_after(rule, sample) if beyond else ("", None, None)
        if fail_extra is not None and fail_extra < extra:
            extra, when = fail_extra, fail_when
        point = (
            f", {rule.side()} {percent(limit.value)} on the point estimate but not confidently"
            if beyond
            else ""
        )
        return rate_check(
            rule, sample, Status.INCONCLUSIVE,
            f"{seen}{point}; {text}{fail_text}",
            extra, when, over,
        )  # fmt: skip
    if beyond:
        fail_text, extra, when = _fail_after(rule, sample)
        return rate_check(
            rule, sample, Status.WARN,
            f"{seen} is {rule.side()} {percent(limit.value)} on the point estimate only, not "
            f"confidently (a FAIL needs {_confident(rule)} {rule.side()} it){fail_text}",
            extra, when, over,
        )  # fmt: skip
    return rate_check(rule, sample, Status.PASS, seen, None, None, over)


# Combining windows of one red flag: a FAIL anywhere counts, then a WARN; a PASS on the longer
# window is not undone by a quiet last hour (the windows nest, so evidence accumulates).
_RED_FLAG_ORDER = {Status.INCONCLUSIVE: 0, Status.PASS: 1, Status.WARN: 2, Status.FAIL: 3}


def assess_red_flag(rule: RateRule, samples: list[Sample], over: str = "") -> Check:
    """A red flag judged over nested windows (full-health: the last hour, and full mode so far).

    The worse counts; the detail says which window decided and what the others saw.
    """
    judged = [judge_red_flag(rule, sample, over) for sample in samples]

    def strength(check: Check) -> tuple[int, float]:
        """A breach (FAIL, WARN) by its evidence; otherwise the window that saw more."""
        order, seen = _RED_FLAG_ORDER[check.status], check.evidence
        if check.status in (Status.FAIL, Status.WARN):
            return order, log_mixture_ratio(seen.count, seen.decided, rule.limit.value)
        return order, seen.decided

    decisive = max(judged, key=strength)
    empty = next((c for c in judged if not c.evidence.decided), None)
    if decisive.status is Status.PASS and empty is not None:
        decisive = empty  # nothing decided lately is news: a longer window cannot PASS for it
    others = [c for c in judged if c is not decisive]
    if not others:
        return decisive
    also = "; ".join(f"over {c.evidence.window}: {c.status}" for c in others)
    return decisive.model_copy(
        update={"detail": f"{decisive.detail} (decided by {decisive.evidence.window}; {also})"}
    )


def assess_criterion(rule: RateRule, sample: Sample, over: str = "") -> Check:
    """A condition to proceed (DESIGN, "Statistics": criteria)."""
    proportion, limit = sample.proportion, rule.limit
    seen = f"{rule.name} {proportion.describe(rule.confidence)}"
    settled = settled_either_way(rule, sample, seen, over)
    if settled is not None:
        return settled
    if limit.breached_by(proportion.rate):
        fail_text, extra, when = _fail_after(rule, sample)
        return rate_check(
            rule, sample, Status.INCONCLUSIVE,
            f"{seen} is {rule.side()} {percent(limit.value)}, but not confidently{fail_text}; "
            f"it can pass once the rate meets the limit on {rule.min_decided} decided bookings",
            extra, when, over,
        )  # fmt: skip
    if proportion.n < rule.min_decided:
        text, extra, when = _needed(rule, sample)
        return rate_check(
            rule, sample, Status.INCONCLUSIVE,
            f"{seen} meets {percent(limit.value)} on too few bookings; {text}",
            extra, when, over,
        )  # fmt: skip
    if limit.confidently_met(proportion, rule.confidence):
        return rate_check(
            rule, sample, Status.PASS,
            f"{seen} meets {percent(limit.value)}; certified: {_confident(rule)} meets it",
            None, None, over,
        )  # fmt: skip
    extra = bookings_to_decide(proportion, limit, rule.confidence, certify=True)
    if extra is None:
        certify, when = "no number of bookings at exactly this rate would", None
    else:
        note, when = volume_note(extra, sample)
        certify = f"about {decided_bookings(extra)} at this rate would ({note})"
    return rate_check(
        rule, sample, Status.PASS,
        f"{seen} meets {percent(limit.value)} on the point estimate; not certified "
        f"({_confident(rule)} does not meet it yet): {certify}",
        extra, when, over,
    )  # fmt: skip


# --- red-flag stretches inside a long window -------------------------------------------------

# Stretches of consecutive buckets judged together: a quiet hour is pooled with its
# neighbours instead of being judged on one booking, and a dip of a few hours shows as one.
POOLED_SPANS = (1, 2, 3, 6)


@dataclass(frozen=True)
class Stretch:
    """Consecutive buckets pooled: their first start, how many, and the pooled proportion."""

    start: datetime
    buckets: int
    proportion: Proportion


def stretches(proportions: list[tuple[datetime, Proportion]], spans=POOLED_SPANS):
    """Every run of `span` consecutive buckets, for each span, with decided bookings."""
    found = []
    for span in spans:
        for first in range(len(proportions) - span + 1):
            run = proportions[first : first + span]
            pooled = sum((p for _, p in run), Proportion(0, 0))
            if pooled.n:
                found.append(Stretch(run[0][0], span, pooled))
    return found


def stretch_label(stretch: Stretch, bucket: timedelta) -> str:
    start = stretch.start.astimezone(UTC)
    end = start + bucket * stretch.buckets
    return f"{start:%Y-%m-%d %H:%M}-{end:%H:%M} UTC"


@dataclass(frozen=True)
class StretchFlag:
    """A stretch confidently beyond a rule's limit, with the rule and the evidence."""

    rule: RateRule
    stretch: Stretch
    looks: int

    def behind(self, bucket: timedelta) -> Behind:
        start = self.stretch.start
        return Behind(
            start=start, end=start + bucket * self.stretch.buckets, outcomes=self.rule.against
        )

    def describe(self, bucket: timedelta) -> str:
        proportion = self.stretch.proportion
        return (
            f"{stretch_label(self.stretch, bucket)}: {self.rule.name} "
            f"{proportion.describe(self.rule.confidence, self.looks)}"
        )


def red_flag_stretches(
    buckets: list[tuple[datetime, dict[str, Proportion]]], rules: list[RateRule]
) -> tuple[list[StretchFlag], int]:
    """The stretches confidently beyond a limit, each judged at alpha / (stretches examined).

    Returns the flags and the number of (stretch, rule) pairs examined.
    """
    candidates = [
        (rule, stretch)
        for rule in rules
        for stretch in stretches([(start, rates[rule.name]) for start, rates in buckets])
    ]
    looks = len(candidates)
    flags = [
        StretchFlag(rule, stretch, looks)
        for rule, stretch in candidates
        if rule.limit.confidently_breached(stretch.proportion, rule.confidence, looks)
    ]
    return flags, looks


def assess_red_flag_stretches(
    check_id: str,
    rule_text: str,
    buckets: list[tuple[datetime, dict[str, Proportion]]],
    bucket: timedelta,
    rules: list[RateRule],
    *,
    min_decided: int,
    alone_min_decided: int,
    listed: int = 5,
) -> Check:
    """No stretch of 1 to 6 buckets confidently beyond a red-flag limit, given how many
    were examined: FAIL. A single bucket of `alone_min_decided` or more whose point estimate
    is beyond is a WARN. PASS needs `min_decided` decided bookings over the window."""
    size = format_duration(bucket)
    flags, looks = red_flag_stretches(buckets, rules)
    decided = sum(max((p.n for p in rates.values()), default=0) for _, rates in buckets)
    common = {
        "id": check_id,
        "rule": rule_text,
        "observed": len(flags),
        "threshold": 0,
        "sample_size": decided,
    }
    if flags:
        named = "; ".join(flag.describe(bucket) for flag in flags[:listed])
        more = f"; and {len(flags) - listed} more" if len(flags) > listed else ""
        return Check(
            **common,
            status=Status.FAIL,
            detail=f"{len(flags)} stretch(es) of {size} buckets confidently beyond a red-flag "
            f"limit (each judged at 1 of {looks} stretches examined): {named}{more}",
            behind=[flag.behind(bucket) for flag in flags[:listed]],
        )
    if decided < min_decided:
        extra = min_decided - decided
        return Check(
            **common,
            no_data=not decided,
            status=Status.INCONCLUSIVE,
            detail=f"{decided} decided bookings in the window, {min_decided} needed to call it "
            f"free of red flags ({extra} more); no stretch confidently beyond a limit",
        )
    suspicious = [
        f"{stretch_label(Stretch(start, 1, rates[rule.name]), bucket)}: {rule.name} "
        f"{rates[rule.name].describe(rule.confidence)}"
        for start, rates in buckets
        for rule in rules
        if rates[rule.name].n >= alone_min_decided and rule.limit.breached_by(rates[rule.name].rate)
    ]
    if suspicious:
        more = f"; and {len(suspicious) - listed} more" if len(suspicious) > listed else ""
        return Check(
            **common,
            status=Status.WARN,
            detail=f"{len(suspicious)} {size} bucket(s) beyond a red-flag limit on the point "
            f"estimate only, none confidently ({looks} stretches examined): "
            f"{'; '.join(suspicious[:listed])}{more}",
        )
    return Check(
        **common,
        status=Status.PASS,
        detail=f"no stretch of 1-{max(POOLED_SPANS)} {size} buckets confidently beyond a "
        f"red-flag limit ({looks} stretches with decided bookings examined, {decided} decided)",
    )
