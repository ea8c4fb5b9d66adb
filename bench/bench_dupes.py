"""Duplicate screening quality on the shipped sample, against two baselines, plain and HMAC'd.

Usage: python bench/bench_dupes.py [DATA_DIR]   (default: $LEGIONARY_SHARED_DATA, else ../shared/data/)

Prints pairwise precision / recall / F1 for:
- a plain ASCII fold of "given family birth-date" (transliterated, lower-cased, exact);
- a crude consonant skeleton (vowels and y dropped, doubles collapsed, name order ignored);
- legionary's tokens and rule, first on plaintext tokens, then on HMAC-SHA-256 tokens truncated
  to several widths, and the expected number of chance coincidences at one million records;
- the two tiers apart (match groups; possible pairs: how many, how many true, per 1,000 records),
  side by side with OpenSanctions' nomenklatura matcher (``logic-v2``) run in the same process on
  the plaintext of the same records, every pair compared (its match threshold 0.7 as the match
  tier, 0.5 to 0.7 as the possible tier);
- index rows per person (each token is one HMAC row stored for every person);
- what the rules we rejected would do: linking on birth date + patronymic, or birth date +
  birthplace, with no name (the only evidence the missed pairs share);
- spelling coverage: how many spellings of a list of names in other transliteration systems
  and languages (German, French, Polish, Ukrainian, Belarusian, diminutives) share a name key
  with the Cyrillic original.
Quality figures only: no timings are asserted.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import os
import secrets
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from legionary.identity.matching import (
    DOCUMENT,
    DOCUMENT_DOB,
    EMAIL,
    EMAIL_DOB,
    INDEX_NAMES,
    NAME_DOB,
    NAME_TYPO_DOB,
    PATRONYMIC_DOB,
    PHONE,
    PHONE_DOB,
    find_groups,
    identity_tokens,
    screen,
)
from legionary.identity.names import latinise, skeleton
from legionary.identity.scoring import PairwiseScore, pairwise_score

RECOMMENDED_WIDTH = 4  # bytes of HMAC-SHA-256 kept per token
# The kinds the match tier's rules read (the chance-coincidence table shows these; the possible
# tier's kinds pair up the same way, each reason needing two keys).
MATCH_INDEXES = (DOCUMENT, DOCUMENT_DOB, PHONE, PHONE_DOB, EMAIL, EMAIL_DOB, NAME_DOB, NAME_TYPO_DOB, PATRONYMIC_DOB)
SCALE = 1_000_000

# The pairs of independently keyed indexes that the rule needs to agree (see matching.py).
RULE_INDEX_PAIRS: tuple[tuple[str, str], ...] = (
    (DOCUMENT, DOCUMENT_DOB),
    (PHONE, PHONE_DOB),
    (EMAIL, EMAIL_DOB),
    (NAME_DOB, NAME_TYPO_DOB),
    (NAME_TYPO_DOB, PATRONYMIC_DOB),
)


def load(data_dir: Path) -> tuple[list[tuple[str, Mapping[str, object]]], dict[str, int]]:
    records = []
    with (data_dir / "dupes-sample.jsonl").open(encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            records.append((row["external_ref"], row["identity"]))
    truth = json.loads((data_dir / "dupes-sample.truth.json").read_text(encoding="utf-8"))
    return records, truth


def group_by_key(
    records: Iterable[tuple[str, Mapping[str, object]]], key: Callable[[Mapping[str, object]], str]
) -> list[list[str]]:
    buckets: dict[str, list[str]] = defaultdict(list)
    for ref, identity in records:
        buckets[key(identity)].append(ref)
    return [members for members in buckets.values() if len(members) > 1]


def ascii_fold_key(identity: Mapping[str, object]) -> str:
    return (
        f"{latinise(str(identity['given_names']))}|{latinise(str(identity['family_name']))}|{identity['date_of_birth']}"
    )


def _consonants(word: str) -> str:
    kept = [ch for ch in word if ch not in "aeiouy"]
    return "".join(ch for k, ch in enumerate(kept) if k == 0 or kept[k - 1] != ch)


def consonant_key(identity: Mapping[str, object]) -> str:
    words = latinise(f"{identity['given_names']} {identity['family_name']}").split()
    return " ".join(sorted(_consonants(w) for w in words)) + f"|{identity['date_of_birth']}"


def index_key(root: bytes, index_name: str) -> bytes:
    # One key per index, bound to its name (an HKDF-expand with a single block is this HMAC).
    return hmac.new(root, b"legionary blind index v1\x00" + index_name.encode(), hashlib.sha256).digest()


def hashed(tokens: list[tuple[str, str]], keys: Mapping[str, bytes], width: int) -> list[tuple[str, bytes | str]]:
    return [(name, hmac.new(keys[name], value.encode(), hashlib.sha256).digest()[:width]) for name, value in tokens]


def row(label: str, score: PairwiseScore, reference: PairwiseScore | None = None) -> str:
    ratio = f"{score.recall / reference.recall:6.2f}x" if reference and reference.recall else "       "
    return (
        f"{label:<34} {score.precision:9.4f} {score.recall:7.4f} {score.f1:7.4f} "
        f"{score.true_positives:4d} {score.false_positives:4d} {score.false_negatives:4d} {ratio}"
    )


def main(argv: list[str]) -> int:
    repo = Path(__file__).resolve().parent.parent
    default = os.environ.get("LEGIONARY_SHARED_DATA") or repo.parent / "shared" / "data"
    data_dir = Path(argv[1]) if len(argv) > 1 else Path(default)
    records, truth = load(data_dir)
    tokens = {ref: identity_tokens(identity) for ref, identity in records}

    fold = pairwise_score(group_by_key(records, ascii_fold_key), truth)
    crude = pairwise_score(group_by_key(records, consonant_key), truth)
    ours = pairwise_score((g.members for g in find_groups(tokens.items())), truth)

    print(f"{len(records)} records, {ours.true_positives + ours.false_negatives} true pairs ({data_dir})\n")
    print(f"{'method':<34} {'precision':>9} {'recall':>7} {'F1':>7} {'TP':>4} {'FP':>4} {'FN':>4} vs fold")
    print(row("ASCII fold of given family DOB", fold))
    print(row("crude consonant skeleton + DOB", crude, fold))
    print(row("legionary tokens, plaintext", ours, fold))

    root = secrets.token_bytes(32)
    keys = {name: index_key(root, name) for name in INDEX_NAMES}
    for width in (2, 3, 4, 6, 8):
        groups = find_groups((ref, hashed(t, keys, width)) for ref, t in tokens.items())
        score = pairwise_score((g.members for g in groups), truth)
        same = "same as plaintext" if score == ours else "DIFFERS from plaintext"
        print(row(f"legionary, HMAC truncated {width} B", score, fold) + f"  {same}")

    print(
        f"\nrecall ratio legionary/fold {ours.recall / fold.recall:.2f},"
        f" legionary/crude {ours.recall / crude.recall:.2f}"
    )

    # Chance coincidences at SCALE records: a pair of records shares some token of an index by
    # accident with probability about t_a * t_b / 2^bits (t = tokens per record in that index).
    per_record = Counter(name for t in tokens.values() for name, _ in t)
    mean = {name: per_record[name] / len(tokens) for name in INDEX_NAMES}
    shown = MATCH_INDEXES
    pairs = SCALE * (SCALE - 1) / 2
    print(f"\nExpected chance coincidences among {SCALE:,} records (mean tokens per record in brackets):")
    print(f"{'width':>5} " + " ".join(f"{n[:16]:>16}" for n in shown) + f" {'false links':>12}")
    for width in (3, 4, 5, 6, 8):
        space = 2.0 ** (8 * width)
        single = {name: pairs * mean[name] ** 2 / space for name in shown}
        # a link needs both indexes of one rule pair to coincide (independent keys)
        links = sum(pairs * (mean[a] ** 2 / space) * (mean[b] ** 2 / space) for a, b in RULE_INDEX_PAIRS)
        print(f"{width:>4}B " + " ".join(f"{single[n]:16.3g}" for n in shown) + f" {links:12.3g}")
    print("  (" + ", ".join(f"{n} {mean[n]:.1f}" for n in shown) + ")")
    space = 2.0 ** (8 * RECOMMENDED_WIDTH)
    typo_hits = pairs * mean[NAME_TYPO_DOB] ** 2 / space
    links = sum(pairs * (mean[a] ** 2 / space) * (mean[b] ** 2 / space) for a, b in RULE_INDEX_PAIRS)
    print(
        f"\nRecommended width: {RECOMMENDED_WIDTH} bytes. At {SCALE:,} records one index hit is only a candidate"
        f" (~{typo_hits:,.0f} chance pairs in the typo index), but a link needs two independently keyed indexes"
        f" to agree, so ~{links:.1g} chance links are expected; 3 bytes would give ~"
        f"{sum(pairs * (mean[a] ** 2 / 2.0**24) * (mean[b] ** 2 / 2.0**24) for a, b in RULE_INDEX_PAIRS):.0f}."
    )
    print_tiers(records, truth, tokens)
    print_rows_per_person(tokens)
    print_rejected_rules(records, truth)
    print_spelling_coverage()
    return 0


def _tier_line(label: str, pairs: int, true: int, all_true: int, records: int, found: int | None = None) -> str:
    precision = true / pairs if pairs else 1.0
    recall = (found if found is not None else true) / all_true if all_true else 1.0
    return f"  {label:<44} {precision:9.4f} {recall:7.4f} {pairs:6d} {true:5d} {pairs * 1000 / records:9.1f}"


def _union_find_groups(refs: list[str], links: Iterable[tuple[str, str]]) -> list[list[str]]:
    parent = {ref: ref for ref in refs}

    def find(ref: str) -> str:
        while parent[ref] != ref:
            parent[ref] = parent[parent[ref]]
            ref = parent[ref]
        return ref

    for a, b in links:
        root_a, root_b = find(a), find(b)
        if root_a != root_b:
            parent[max(root_a, root_b)] = min(root_a, root_b)
    groups: dict[str, list[str]] = defaultdict(list)
    for ref in refs:
        groups[find(ref)].append(ref)
    return [members for members in groups.values() if len(members) > 1]


def _ftm_person(ref: str, identity: Mapping[str, object]) -> dict[str, object]:
    """The plaintext record as a FollowTheMoney Person, every field nomenklatura can compare."""

    def text(key: str) -> list[str]:
        value = identity.get(key)
        return [value] if isinstance(value, str) and value.strip() else []

    documents = [d for d in identity.get("documents") or [] if isinstance(d, Mapping)]  # type: ignore[attr-defined]
    others = [o for o in identity.get("other_names") or [] if isinstance(o, str)]  # type: ignore[attr-defined]
    properties = {
        "name": [" ".join(text("given_names") + text("family_name"))],
        "firstName": text("given_names"),
        "lastName": text("family_name"),
        "fatherName": text("patronymic"),
        "alias": others,
        "birthDate": text("date_of_birth"),
        "birthPlace": text("place_of_birth"),
        "nationality": [c.lower() for c in identity.get("citizenships") or [] if isinstance(c, str)],  # type: ignore[attr-defined]
        "passportNumber": [str(d["number"]) for d in documents if d.get("kind") == "passport"],
        "idNumber": [str(d["number"]) for d in documents if d.get("kind") != "passport"],
        "phone": text("phone"),
        "email": text("email"),
    }
    return {"id": ref, "schema": "Person", "properties": {k: v for k, v in properties.items() if v}}


def print_tiers(
    records: list[tuple[str, Mapping[str, object]]],
    truth: Mapping[str, int],
    tokens: Mapping[str, list[tuple[str, str]]],
) -> None:
    """Match tier and possible tier apart, legionary's (tokens) and nomenklatura's logic-v2 (plaintext)."""
    refs = [ref for ref, _ in records]
    all_true = sum(1 for a, b in itertools.combinations(refs, 2) if truth[a] == truth[b])
    started = time.perf_counter()
    result = screen(tokens.items())
    ours_seconds = time.perf_counter() - started
    match = pairwise_score((g.members for g in result.groups), truth)
    possible_true = sum(1 for p in result.possible if truth[p.members[0]] == truth[p.members[1]])
    print(f"\nTwo tiers on {len(refs)} records, {all_true} true pairs")
    print(f"  {'tier':<44} {'precision':>9} {'recall':>7} {'pairs':>6} {'true':>5} {'per 1,000':>9}")
    print(
        _tier_line(
            "legionary match tier (groups' pairs)",
            match.true_positives + match.false_positives,
            match.true_positives,
            all_true,
            len(refs),
        )
    )
    print(_tier_line("legionary possible tier (pairs)", len(result.possible), possible_true, all_true, len(refs)))
    print(
        _tier_line(
            "legionary match + possible (recall of both)",
            match.true_positives + match.false_positives + len(result.possible),
            match.true_positives + possible_true,
            all_true,
            len(refs),
        )
    )
    reasons = Counter(r for p in result.possible for r in p.reasons)
    print(
        f"    (legionary: {ours_seconds * 1000:.0f} ms for both tiers from tokens; reasons of possible pairs: "
        + ", ".join(f"{r} {n}" for r, n in reasons.items())
        + ")"
    )
    try:
        from followthemoney import model
        from nomenklatura.matching import get_algorithm
        from nomenklatura.matching.types import ScoringConfig
    except ImportError as exc:
        print(f"  nomenklatura logic-v2: not run ({exc}); install the bench extra: pip install -e '.[bench]'")
        return
    algorithm = get_algorithm("logic-v2")
    if algorithm is None:
        print("  nomenklatura logic-v2: not run (this nomenklatura has no logic-v2 algorithm)")
        return
    config = ScoringConfig.defaults()
    entities = [model.get_proxy(_ftm_person(ref, identity)) for ref, identity in records]
    started = time.perf_counter()
    scores = [(a.id, b.id, algorithm.compare(a, b, config).score) for a, b in itertools.combinations(entities, 2)]
    theirs_seconds = time.perf_counter() - started
    for threshold, low in ((0.7, 0.5), (0.8, 0.6), (0.9, 0.7)):
        links = [(str(a), str(b)) for a, b, score in scores if score >= threshold]
        theirs = pairwise_score(_union_find_groups(refs, links), truth)
        maybe = [(str(a), str(b)) for a, b, score in scores if low <= score < threshold]
        maybe_true = sum(1 for a, b in maybe if truth[a] == truth[b])
        label = f"logic-v2 >= {threshold} (groups' pairs)"
        print(
            _tier_line(
                label, theirs.true_positives + theirs.false_positives, theirs.true_positives, all_true, len(refs)
            )
        )
        print(_tier_line(f"logic-v2 {low}-{threshold} (pairs)", len(maybe), maybe_true, all_true, len(refs)))
    print(
        f"    (logic-v2: {len(scores):,} pairs compared on plaintext in {theirs_seconds:.1f} s,"
        f" {theirs_seconds / len(scores) * 1e6:.0f} us a pair; it has no blocking of its own here)"
    )


def print_rows_per_person(tokens: Mapping[str, list[tuple[str, str]]]) -> None:
    counts = sorted(len(t) for t in tokens.values())
    names = sorted(sum(1 for n, _ in t if n in (NAME_DOB, NAME_TYPO_DOB, PATRONYMIC_DOB)) for t in tokens.values())
    print(
        f"\nIndex rows per person: mean {sum(counts) / len(counts):.1f}, median {counts[len(counts) // 2]},"
        f" max {counts[-1]} (of which name rows: mean {sum(names) / len(names):.1f}, max {names[-1]})"
    )


def _patronymic(identity: Mapping[str, object]) -> str:
    value = identity.get("patronymic")
    return skeleton(value) if isinstance(value, str) else ""


def _birthplace(identity: Mapping[str, object]) -> str:
    value = identity.get("place_of_birth")
    return latinise(value) if isinstance(value, str) else ""


def print_rejected_rules(records: list[tuple[str, Mapping[str, object]]], truth: Mapping[str, int]) -> None:
    """Pairs a name-free rule would link, on plaintext: what recall it buys and what it costs."""
    rules: dict[str, Callable[[Mapping[str, object], Mapping[str, object]], bool]] = {
        "birth date + patronymic": lambda a, b: bool(_patronymic(a)) and _patronymic(a) == _patronymic(b),
        "birth date + birthplace": lambda a, b: bool(_birthplace(a)) and _birthplace(a) == _birthplace(b),
        "birth date + patronymic + birthplace": lambda a, b: (
            bool(_patronymic(a))
            and _patronymic(a) == _patronymic(b)
            and bool(_birthplace(a))
            and _birthplace(a) == _birthplace(b)
        ),
    }
    by_date: dict[object, list[tuple[str, Mapping[str, object]]]] = defaultdict(list)
    for ref, identity in records:
        by_date[identity.get("date_of_birth")].append((ref, identity))
    print("\nRejected name-free rules (alone, on this sample): same-person pairs found / different-person pairs")
    for label, rule in rules.items():
        same = other = 0
        for members in by_date.values():
            for k, (ref_a, a) in enumerate(members):
                for ref_b, b in members[k + 1 :]:
                    if rule(a, b):
                        if truth[ref_a] == truth[ref_b]:
                            same += 1
                        else:
                            other += 1
        print(f"  {label:<38} {same:4d} / {other:4d}")


# One name per row: the Cyrillic (or Georgian) original, then spellings of it in other systems or
# languages that an applicant or an officer might type.
SPELLINGS: tuple[tuple[str, ...], ...] = (
    ("Дмитрий Кузнецов", "Dmitri Kouznetsov", "Dmitrij Kusnezow", "Dmitrij Kuzniecow", "Dmytro Kuznetsov"),
    ("Юрий", "Iouri", "Youri", "Jurij", "Yurii", "Yura"),
    ("Хрущёв", "Khrushchev", "Chruschtschow", "Khrouchtchev", "Chruszczow", "Hruščov", "Khrushchov"),
    ("Горбачёв", "Gorbachev", "Gorbatschow", "Gorbatchev", "Gorbaczow"),
    ("Ющенко", "Yushchenko", "Juschtschenko", "Iouchtchenko", "Juszczenko"),
    ("Шостакович", "Shostakovich", "Schostakowitsch", "Chostakovitch", "Szostakowicz"),
    ("Сергей", "Sergueï", "Siergiej", "Serhii", "Siarhei", "Seryozha"),
    ("Евгений", "Evgueni", "Jewgeni", "Yevhen", "Yauhen"),
    ("Георгий", "Guéorgui", "Georgij", "Heorhii"),
    ("Александр", "Oleksandr", "Aliaksandr", "Alexander", "Alexandre"),
    ("Николай", "Mykola", "Mikalai", "Nikolaj", "Kolya"),
    ("Михаил", "Mikhaïl", "Mykhailo", "Michał", "Misha"),
    ("Павел", "Pavlo", "Paweł", "Pasha"),
    ("Пётр", "Petro", "Piotr", "Pyotr", "Petya"),
    ("Андрей", "Andrii", "Andriy", "Andrzej", "Andrei"),
    ("Владимир", "Volodymyr", "Uladzimir", "Wladimir", "Vova"),
    ("Наталья", "Nataliia", "Natalia", "Natasha"),
    ("Татьяна", "Tetiana", "Tatsiana", "Tatjana", "Tanya"),
    ("Шеварднадзе", "Shevardnadze", "Schewardnadse", "Chevardnadze"),
    ("ჯავახიშვილი", "Javakhishvili", "Dschawachischwili", "Djavakhichvili"),
    ("Цхададзе", "Tskhadadze", "Zchadadse"),
    ("Жуков", "Zhukov", "Schukow", "Joukov", "Żukow"),
    ("Солженицын", "Solzhenitsyn", "Solschenizyn", "Soljenitsyne", "Sołżenicyn"),
)


def _name_keys(text: str) -> set[str]:
    return {
        value
        for name, value in identity_tokens({"given_names": text, "date_of_birth": "2000-01-01"})
        if name == NAME_DOB
    }


def print_spelling_coverage() -> None:
    found = total = 0
    missed: list[str] = []
    for original, *others in SPELLINGS:
        keys = _name_keys(original)
        for other in others:
            total += 1
            if keys & _name_keys(other):
                found += 1
            else:
                missed.append(other)
    print(f"\nSpelling coverage: {found} of {total} spellings share an exact name key with the original")
    print("  not matched: " + ", ".join(missed))


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
