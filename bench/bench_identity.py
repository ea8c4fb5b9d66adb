"""Sealed identities at scale, side by side with ``django-fernet-encrypted-fields``.

What it measures, at each size in ``--sizes`` (people already stored; SQLite by default,
PostgreSQL when ``DATABASE_URL`` is set), with the same synthetic identities stored both ways:

1. write throughput (identities/s) for ``--batch`` new identities, the same ones on both sides,
   batched the same way on both sides:
   - one by one, one transaction each (a submission): ours through ``services.person_create``
     (seal under a fresh data key + blind indexes + audit entry), ours without the audit entry,
     ours "seal only" (seal + person and sealed identity rows: what the library does; no index,
     no audit, call signs from the bench's generator), against ``FernetIdentity.objects.create``
     (every field Fernet-encrypted under one global key);
   - in batches of 100, one transaction each (an import): ours through
     ``services.people_create_batch`` (sealed before the transaction, as ``legionary import``
     does), without its audit entries, and seal only, against ``FernetIdentity`` ``bulk_create``.
   Our "with indexes" figures write ~35 more rows per person than the library (the blind indexes
   that make duplicate lookup possible without decrypting); "seal only" is the like-for-like one.
   The identities are generated before timing; each side writes each identity once per variant;
2. read throughput for ``--reads`` random people: ours raw (``services._open_identity``: unwrap the
   data key, open, parse), ours audited (``services.unseal_identity`` by a security officer: adds
   the permission check and the committed audit entry), and Fernet ``.get(pk=...)`` with every
   field touched;
3. blind-index cost: µs per person to compute its tokens, and its tokens + truncated HMACs;
4. duplicate lookup: ``services.duplicate_candidates`` latency p50/p95 over ``--probes`` random
   people and the SQL queries per lookup. The Fernet table cannot be searched without decrypting
   every row: its "lookup" is measured once, over 10,000 rows, as decrypt + cheap exact compare
   (no phonetic matching, so a lower bound), and extrapolated linearly to each size.

The fill up to each size is not measured: it bulk-inserts our rows the way ``person_create``
builds them (``services._seal_identity``, ``services._index_rows``) but bypasses the audit log
and the call-sign search. Ratios are ours/fernet (above 1 means ours is faster). Nothing is
asserted; the figures are printed, ending with one line per goal.

    python bench/bench_identity.py [--sizes 10000,100000]
    python -m tests.pgserver -- python bench/bench_identity.py --sizes 10000,100000

Everything runs in a fresh temporary LEGIONARY_HOME (keyring, audit key, SQLite database), removed
at the end; on PostgreSQL a database of its own is created on the server and dropped at the end.
"""

from __future__ import annotations

import argparse
import functools
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

# --- bootstrap: a fresh LEGIONARY_HOME and the bench settings, before Django is imported --------

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
HOME = Path(tempfile.mkdtemp(prefix="legionary-bench-identity-"))
os.environ["LEGIONARY_HOME"] = str(HOME)
for _variable in (
    "LEGIONARY_KEYRING",
    "LEGIONARY_AUDIT_KEY",
    "LEGIONARY_SECRET_KEY_FILE",
    "LEGIONARY_KEYRING_PASSPHRASE",
):
    os.environ.pop(_variable, None)  # never reach a real keyring, audit key or secret
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
BENCH_DB = f"legionary_bench_{os.getpid()}"
if os.environ.get("DATABASE_URL", "").strip():
    os.environ["LEGIONARY_BENCH_DB_NAME"] = BENCH_DB

import django  # noqa: E402

django.setup()

import cryptography  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, connections, transaction  # noqa: E402
from django.db.models import Max  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench.fernetapp.models import FernetIdentity  # noqa: E402
from legionary import db  # noqa: E402
from legionary.access.models import RoleGrant, Staff  # noqa: E402
from legionary.access.roles import Role, ScopeKind  # noqa: E402
from legionary.audit.services import signing_key_init  # noqa: E402
from legionary.identity import callsigns, matching, names, services  # noqa: E402
from legionary.identity.models import BlindIndex, Person, SealedIdentity  # noqa: E402

LEGION = "frl"
FILL_BATCH = 2000
FILL_CACHE_KIB = 1024 * 1024  # SQLite page cache during the fill only (the default is 2 MiB)
FERNET_SCAN_ROWS = 10_000
FLAT_LIMIT = 2.0  # "flat": p50 grows less than this factor while the size grows tenfold or more

# --- synthetic identities -----------------------------------------------------------------------
# Obviously made up, but shaped like real applications: Russian and Ukrainian names written in
# Cyrillic or in one of several Latin transliterations, real document and phone number layouts.

# (father's given name, son's patronymic, daughter's patronymic)
RU_FATHERS: tuple[tuple[str, str, str], ...] = (
    ("Александр", "Александрович", "Александровна"), ("Алексей", "Алексеевич", "Алексеевна"),
    ("Андрей", "Андреевич", "Андреевна"), ("Антон", "Антонович", "Антоновна"),
    ("Аркадий", "Аркадьевич", "Аркадьевна"), ("Артём", "Артёмович", "Артёмовна"),
    ("Борис", "Борисович", "Борисовна"), ("Вадим", "Вадимович", "Вадимовна"),
    ("Валерий", "Валерьевич", "Валерьевна"), ("Василий", "Васильевич", "Васильевна"),
    ("Виктор", "Викторович", "Викторовна"), ("Виталий", "Витальевич", "Витальевна"),
    ("Владимир", "Владимирович", "Владимировна"), ("Владислав", "Владиславович", "Владиславовна"),
    ("Вячеслав", "Вячеславович", "Вячеславовна"), ("Геннадий", "Геннадьевич", "Геннадьевна"),
    ("Георгий", "Георгиевич", "Георгиевна"), ("Глеб", "Глебович", "Глебовна"),
    ("Григорий", "Григорьевич", "Григорьевна"), ("Денис", "Денисович", "Денисовна"),
    ("Дмитрий", "Дмитриевич", "Дмитриевна"), ("Евгений", "Евгеньевич", "Евгеньевна"),
    ("Егор", "Егорович", "Егоровна"), ("Иван", "Иванович", "Ивановна"),
    ("Игорь", "Игоревич", "Игоревна"), ("Кирилл", "Кириллович", "Кирилловна"),
    ("Константин", "Константинович", "Константиновна"), ("Леонид", "Леонидович", "Леонидовна"),
    ("Максим", "Максимович", "Максимовна"), ("Михаил", "Михайлович", "Михайловна"),
    ("Николай", "Николаевич", "Николаевна"), ("Олег", "Олегович", "Олеговна"),
    ("Павел", "Павлович", "Павловна"), ("Пётр", "Петрович", "Петровна"),
    ("Роман", "Романович", "Романовна"), ("Руслан", "Русланович", "Руслановна"),
    ("Сергей", "Сергеевич", "Сергеевна"), ("Станислав", "Станиславович", "Станиславовна"),
    ("Степан", "Степанович", "Степановна"), ("Тимофей", "Тимофеевич", "Тимофеевна"),
    ("Фёдор", "Фёдорович", "Фёдоровна"), ("Юрий", "Юрьевич", "Юрьевна"),
    ("Ярослав", "Ярославович", "Ярославовна"),
)  # fmt: skip
RU_SONS = (*(father for father, _, _ in RU_FATHERS), "Илья", "Никита", "Матвей", "Данила", "Тимур")
RU_WOMEN = ("Мария", "Елена", "Ольга", "Татьяна", "Наталья", "Ирина", "Светлана", "Анна", "Екатерина",
            "Людмила", "Галина", "Валентина", "Надежда", "Юлия", "Марина")  # fmt: skip
RU_FAMILIES = (
    "Иванов Смирнов Кузнецов Попов Васильев Петров Соколов Михайлов Новиков Фёдоров Морозов Волков "
    "Алексеев Лебедев Семёнов Егоров Павлов Козлов Степанов Николаев Орлов Андреев Макаров Никитин "
    "Захаров Зайцев Соловьёв Борисов Яковлев Григорьев Романов Воробьёв Сергеев Кузьмин Фролов "
    "Александров Дмитриев Королёв Гусев Киселёв Ильин Максимов Поляков Сорокин Виноградов Ковалёв "
    "Белов Медведев Антонов Тарасов Жуков Баранов Филиппов Комаров Давыдов Беляев Герасимов Богданов "
    "Осипов Сидоров Матвеев Титов Марков Миронов Крылов Куликов Карпов Власов Мельников Денисов "
    "Гаврилов Тихонов Казаков Афанасьев Данилов Савельев Тимофеев Фомин Чернов Абрамов Мартынов "
    "Ефимов Щербаков Назаров Калинин Исаев Чернышёв Быков Маслов Родионов Коновалов Лазарев Воронин "
    "Климов Филатов Пономарёв Голубев Кудрявцев Прохоров Наумов Потапов Журавлёв Овчинников Трофимов "
    "Леонов Соболев Ермаков Колесников Гончаров Емельянов Никифоров Грачёв Котов Гришин Ефремов "
    "Архипов Громов Кириллов Малышев Панов Моисеев Румянцев Акимов Кондратьев Бирюков Горбунов "
    "Покровский Никольский Вишневский Островский Успенский Черных Седых Лаптев Князев Шубин"
).split()
UA_FATHERS: tuple[tuple[str, str, str], ...] = (
    ("Олександр", "Олександрович", "Олександрівна"), ("Андрій", "Андрійович", "Андріївна"),
    ("Богдан", "Богданович", "Богданівна"), ("Василь", "Васильович", "Василівна"),
    ("Віктор", "Вікторович", "Вікторівна"), ("Володимир", "Володимирович", "Володимирівна"),
    ("Дмитро", "Дмитрович", "Дмитрівна"), ("Іван", "Іванович", "Іванівна"),
    ("Ігор", "Ігорович", "Ігорівна"), ("Микола", "Миколайович", "Миколаївна"),
    ("Михайло", "Михайлович", "Михайлівна"), ("Олег", "Олегович", "Олегівна"),
    ("Остап", "Остапович", "Остапівна"), ("Петро", "Петрович", "Петрівна"),
    ("Роман", "Романович", "Романівна"), ("Сергій", "Сергійович", "Сергіївна"),
    ("Тарас", "Тарасович", "Тарасівна"), ("Юрій", "Юрійович", "Юріївна"),
    ("Ярослав", "Ярославович", "Ярославівна"), ("Євген", "Євгенович", "Євгенівна"),
    ("Анатолій", "Анатолійович", "Анатоліївна"), ("Григорій", "Григорович", "Григорівна"),
)  # fmt: skip
UA_SONS = (*(father for father, _, _ in UA_FATHERS), "Максим", "Денис", "Артем", "Владислав", "Назар")
UA_WOMEN = ("Марія", "Олена", "Оксана", "Тетяна", "Наталія", "Ірина", "Світлана", "Ганна", "Катерина",
            "Людмила", "Галина", "Валентина", "Надія", "Юлія", "Христина")  # fmt: skip
UA_FAMILIES = (
    "Шевченко Коваленко Бондаренко Ткаченко Кравченко Олійник Шевчук Коваль Поліщук Бондар Мельник "
    "Ткачук Марченко Руденко Савченко Мороз Лисенко Петренко Клименко Павленко Кравчук Кузьменко "
    "Левченко Гончаренко Харченко Литвиненко Сидоренко Швець Романенко Білик Ковальчук Карпенко "
    "Гаврилюк Мельничук Даниленко Василенко Захарченко Дмитренко Яковенко Павлюк Остапенко Головко "
    "Тарасенко Приходько Юрченко Костенко Степаненко Кириленко Гуменюк Грищенко Вакуленко "
    "Пономаренко Зінченко Тимошенко Стельмах Назаренко Антонюк Гнатюк Федорук Ярошенко Бойко Кушнір "
    "Мартинюк Сорока Гордієнко Демченко Вовк Паламарчук Кучер Савчук Сахно Ковтун Лук'яненко"
).split()
RU_CITIES = ("Москва Санкт-Петербург Новосибирск Екатеринбург Казань Челябинск Самара Омск Уфа Красноярск "
             "Воронеж Пермь Волгоград Краснодар Саратов Тюмень Иркутск Ярославль Томск Тула Курск "
             "Белгород Брянск Тверь Смоленск Калининград Рязань Псков").split()  # fmt: skip
RU_STREETS = ("Ленина", "Мира", "Советская", "Садовая", "Лесная", "Школьная", "Гагарина", "Пушкина",
              "Кирова", "Набережная", "Октябрьская", "Комсомольская", "Молодёжная")  # fmt: skip
UA_CITIES = ("Київ Харків Одеса Дніпро Львів Запоріжжя Миколаїв Вінниця Полтава Чернігів Черкаси Житомир "
             "Суми Хмельницький Рівне Івано-Франківськ Тернопіль Луцьк Ужгород").split()  # fmt: skip
UA_STREETS = ("Шевченка", "Франка", "Сумська", "Грушевського", "Незалежності", "Соборна", "Садова",
              "Миру", "Лесі Українки", "Хрещатик")  # fmt: skip
RU_KIN = {"mother": "мать", "father": "отец", "wife": "жена", "brother": "брат", "sister": "сестра"}
UA_KIN = {"mother": "мати", "father": "батько", "wife": "дружина", "brother": "брат", "sister": "сестра"}
MAIL_DOMAINS = ("mail.ru", "yandex.ru", "gmail.com", "proton.me", "tutanota.com", "ukr.net", "i.ua", "bk.ru")
# Series letters that Cyrillic and Latin share (the ones a clerk may type in either script).
SERIES_LETTERS = "АВЕКМНОРСТХ"

# Transliteration tables written for this benchmark: two common Russian systems (passport-like
# and "popular") and the Ukrainian national system, whose first letter of a word differs.
_RU_PASSPORT = dict(
    zip(
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
        ("a b v g d e e zh z i i k l m n o p r s t u f kh ts ch sh shch ie y  e iu ia").split(" "),
        strict=True,
    )
)
_RU_POPULAR = dict(
    zip(
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
        ("a b v g d e yo zh z i y k l m n o p r s t u f h ts ch sh sch  y ' e yu ya").split(" "),
        strict=True,
    )
)
_UA = dict(
    zip(
        "абвгґдеєжзиіїйклмнопрстуфхцчшщьюя'",
        ("a b v h g d e ie zh z y i i i k l m n o p r s t u f kh ts ch sh shch  iu ia ").split(" "),
        strict=True,
    )
)
_UA_FIRST = {**_UA, "є": "ye", "ї": "yi", "й": "y", "ю": "yu", "я": "ya"}  # fmt: skip


def translit(text: str, table: dict[str, str], first: dict[str, str] | None = None) -> str:
    """Latin spelling of a Cyrillic name with one table; word-initial letters may use ``first``."""
    words = []
    for word in text.split():
        letters = []
        for position, ch in enumerate(word):
            lower = ch.lower()
            source = first if first is not None and (position == 0 or word[position - 1] == "-") else table
            latin = source.get(lower, ch)
            letters.append(latin.capitalize() if ch != lower else latin)
        words.append("".join(letters))
    return " ".join(words)


def feminine(family: str) -> str:
    for ending, replacement in (("ский", "ская"), ("ський", "ська"), ("ой", "ая")):
        if family.endswith(ending):
            return family[: -len(ending)] + replacement
    if family.endswith(("ов", "ев", "ёв", "ин", "ын")):
        return family + "а"
    return family


@dataclass(frozen=True)
class Applicant:
    """The facts of one real (synthetic) person, in Cyrillic; rendered differently per application."""

    nation: str
    given: str
    family: str
    patronymic: str
    birth_date: str
    place: str
    documents: tuple[tuple[str, str, str], ...]  # kind, country, canonical number
    phone: str  # national significant number
    mail_user: str
    mail_domain: str
    address: str
    kin: tuple[tuple[str, str, str], ...]  # name, relation (English key), phone


class IdentityFactory:
    """Deterministic stream of identities; about 3% are re-applications of an earlier applicant."""

    def __init__(self, seed: int, reapply_rate: float = 0.03) -> None:
        self.rng = random.Random(seed)
        self.reapply_rate = reapply_rate
        self.earlier: list[Applicant] = []
        self.serial = 0

    def applicant(self) -> Applicant:
        rng = self.rng
        self.serial += 1
        ukrainian = rng.random() < 0.3
        fathers, sons, women, families = (
            (UA_FATHERS, UA_SONS, UA_WOMEN, UA_FAMILIES) if ukrainian else (RU_FATHERS, RU_SONS, RU_WOMEN, RU_FAMILIES)
        )
        cities, streets = (UA_CITIES, UA_STREETS) if ukrainian else (RU_CITIES, RU_STREETS)
        father, patronymic, daughter_patronymic = rng.choice(fathers)
        given, family = rng.choice(sons), rng.choice(families)
        birth = time.gmtime(rng.randint(-315_619_200, 1_104_537_600))  # born 1960-2004
        birth_date = f"{birth.tm_year:04d}-{birth.tm_mon:02d}-{birth.tm_mday:02d}"
        city = rng.choice(cities)
        if ukrainian:
            address = f"м. {city}, вул. {rng.choice(streets)}, буд. {rng.randint(1, 120)}, кв. {rng.randint(1, 200)}"
            series = rng.choice(SERIES_LETTERS) + rng.choice(SERIES_LETTERS)
            documents: list[tuple[str, str, str]] = [
                rng.choice((("passport", "UA", f"{series}{rng.randint(0, 999_999):06d}"),
                            ("id_card", "UA", f"{rng.randint(0, 999_999_999):09d}")))
            ]  # fmt: skip
            phone = f"{rng.choice((50, 63, 66, 67, 68, 73, 93, 95, 96, 97, 98, 99))}{rng.randint(0, 9_999_999):07d}"
        else:
            address = f"г. {city}, ул. {rng.choice(streets)}, д. {rng.randint(1, 120)}, кв. {rng.randint(1, 200)}"
            documents = [("internal_passport", "RU", f"{rng.randint(1, 9999):04d}{rng.randint(0, 999_999):06d}")]
            if rng.random() < 0.4:
                documents.append(("passport", "RU", f"{rng.randint(70, 77)}{rng.randint(0, 9_999_999):07d}"))
            if rng.random() < 0.15:
                series = rng.choice(SERIES_LETTERS) + rng.choice(SERIES_LETTERS)
                documents.append(("military_id", "RU", f"{series}{rng.randint(0, 9_999_999):07d}"))
            phone = f"9{rng.randint(0, 999_999_999):09d}"
        table = _UA if ukrainian else _RU_POPULAR
        latin_given = translit(given, table).lower().replace("'", "")
        latin_family = translit(family, table).lower().replace("'", "")
        mail_user = rng.choice((
            f"{latin_given}.{latin_family}{birth.tm_year % 100:02d}",
            f"{latin_given[0]}{latin_family}{rng.randint(1, 999)}",
            f"{latin_family}_{latin_given}",
            f"{rng.choice(('volk', 'sever', 'ural', 'shtorm', 'veter', 'kot'))}{rng.randint(100, 99_999)}",
        ))  # fmt: skip
        kin = []
        for relation in rng.sample(("mother", "father", "wife", "brother", "sister"), rng.randint(1, 2)):
            if relation == "mother":
                name = f"{feminine(family)} {rng.choice(women)} {rng.choice(fathers)[2]}"
            elif relation == "wife":
                name = f"{feminine(rng.choice(families))} {rng.choice(women)} {rng.choice(fathers)[2]}"
            elif relation == "sister":
                name = f"{feminine(family)} {rng.choice(women)} {daughter_patronymic}"
            elif relation == "father":
                name = f"{family} {father} {rng.choice(fathers)[1]}"
            else:
                name = f"{family} {rng.choice(sons)} {patronymic}"
            kin.append((name, relation, phone[:-4] + f"{rng.randint(0, 9999):04d}"))
        return Applicant(
            nation="UA" if ukrainian else "RU",
            given=given,
            family=family,
            patronymic=patronymic,
            birth_date=birth_date,
            place=rng.choice(cities),
            documents=tuple(documents),
            phone=phone,
            mail_user=mail_user,
            mail_domain=rng.choice(MAIL_DOMAINS[5:] if ukrainian else MAIL_DOMAINS[:6]),
            address=address,
            kin=tuple(kin),
        )

    def _phone(self, applicant: Applicant) -> str:
        n, rng = applicant.phone, self.rng
        if applicant.nation == "UA":
            return rng.choice((f"+380 {n[:2]} {n[2:5]} {n[5:7]} {n[7:]}", f"+380{n}", f"0{n[:2]} {n[2:5]} {n[5:]}",
                               f"(0{n[:2]}) {n[2:5]}-{n[5:7]}-{n[7:]}"))  # fmt: skip
        return rng.choice((f"+7 {n[:3]} {n[3:6]}-{n[6:8]}-{n[8:]}", f"+7 ({n[:3]}) {n[3:6]}-{n[6:8]}-{n[8:]}",
                           f"8{n}", f"+7{n}", f"8 {n[:3]} {n[3:6]} {n[6:8]} {n[8:]}"))  # fmt: skip

    def _document(self, kind: str, country: str, number: str) -> dict[str, str]:
        rng = self.rng
        if kind == "internal_passport":
            shown = rng.choice((f"{number[:2]} {number[2:4]} {number[4:]}", f"{number[:4]} {number[4:]}",
                                f"№ {number}"))  # fmt: skip
        elif kind == "passport" and country == "RU":
            shown = rng.choice((f"{number[:2]} {number[2:]}", number))
        elif number[:2].isalpha():
            series = number[:2]
            if rng.random() < 0.3:  # typed with the Latin look-alikes
                series = series.translate(str.maketrans("АВЕКМНОРСТХ", "ABEKMHOPCTX"))
            shown = rng.choice((f"{series}{number[2:]}", f"{series} {number[2:]}", f"{series} № {number[2:]}"))
        else:
            shown = number
        return {"kind": kind, "country": country, "number": shown}

    def render(self, applicant: Applicant) -> dict[str, Any]:
        """One application's ``identity`` object for this applicant, in a script and spelling of its own."""
        rng = self.rng
        ukrainian = applicant.nation == "UA"
        script = rng.random()
        if script < 0.5:
            spell: Callable[[str], str] = lambda text: text  # noqa: E731 -- Cyrillic as written
        elif ukrainian:
            spell = lambda text: translit(text, _UA, _UA_FIRST)  # noqa: E731
        else:
            table = _RU_PASSPORT if script < 0.75 else _RU_POPULAR
            spell = lambda text: translit(text, table)  # noqa: E731
        identity: dict[str, Any] = {
            "given_names": spell(applicant.given),
            "family_name": spell(applicant.family),
            "patronymic": spell(applicant.patronymic),
            "date_of_birth": applicant.birth_date,
            "place_of_birth": spell(applicant.place),
            "citizenships": [applicant.nation],
            "documents": [self._document(*document) for document in applicant.documents],
            "phone": self._phone(applicant),
            "email": f"{applicant.mail_user}@{applicant.mail_domain}",
            "address": applicant.address,
            "next_of_kin": [
                {
                    "name": spell(name),
                    "relation": (UA_KIN if ukrainian else RU_KIN)[relation] if script < 0.5 else relation,
                    "phone": f"+380{phone}" if ukrainian else f"+7{phone}",
                }
                for name, relation, phone in applicant.kin
            ],
        }
        if script >= 0.5 and rng.random() < 0.4:  # the name as in the home passport, too
            identity["other_names"] = [f"{applicant.given} {applicant.family}"]
        return identity

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return self

    def __next__(self) -> dict[str, Any]:
        rng = self.rng
        if self.earlier and rng.random() < self.reapply_rate:
            # A re-application: same person, another spelling, maybe another document or phone.
            applicant = rng.choice(self.earlier)
            identity = self.render(applicant)
            if rng.random() < 0.5:
                identity["phone"] = f"+{rng.randint(1, 9)}{rng.randint(10**9, 10**10 - 1)}"
            elif rng.random() < 0.5:
                identity["documents"] = []
            if rng.random() < 0.5:
                identity["email"] = f"{applicant.mail_user}{rng.randint(1, 99)}@{rng.choice(MAIL_DOMAINS)}"
            return identity
        applicant = self.applicant()
        if len(self.earlier) < 20_000:
            self.earlier.append(applicant)
        else:
            self.earlier[rng.randrange(len(self.earlier))] = applicant
        return self.render(applicant)


# --- the fill: prepared in worker processes, bulk-inserted by the main one ---------------------

FERNET_FIELDS = [f for f in FernetIdentity._meta.concrete_fields if not f.primary_key]
FERNET_DEFAULTS: dict[str, Any] = {"other_names": [], "citizenships": [], "documents": [], "next_of_kin": []}

# One prepared person: (person id, KEK version, wrapped DEK, sealed identity, index rows, Fernet row).
Prepared = tuple[str, int, bytes, bytes, list[tuple[str, int, bytes]], tuple[Any, ...]]


def fernet_values(identity: dict[str, Any]) -> dict[str, Any]:
    """The Fernet model's field values for one identity (the same data, field by field)."""
    return {f.name: identity.get(f.name, FERNET_DEFAULTS.get(f.name)) for f in FERNET_FIELDS}


def memoise_names() -> None:
    """Fill workers only: memoise ``names.skeleton_variants``, a pure function of one name word.

    The synthetic names repeat a lot, so this speeds the fill up without changing a single token
    (same function, same results). The measured parts run in the main process, never memoised.
    """
    original = names.skeleton_variants
    cached = functools.lru_cache(maxsize=200_000)(original)
    setattr(names, "skeleton_variants", lambda word: list(cached(word)))  # noqa: B010 -- patching a module


def prepare(chunk: list[dict[str, Any]]) -> list[Prepared]:
    """Seals, indexes and Fernet-encrypts a chunk of identities (runs in a worker process).

    Our rows are built exactly as ``person_create`` builds them (``_seal_identity``,
    ``_index_rows``); the Fernet row is what the library's fields would write.
    """
    provider = services.key_provider()
    out: list[Prepared] = []
    for identity in chunk:
        person_id = services.new_person_id()
        sealed = services._seal_identity(person_id, identity, provider)
        rows = [(r.name, r.key_version, bytes(r.value)) for r in services._index_rows(person_id, identity, provider)]
        values = fernet_values(identity)
        fernet = tuple(f.get_prep_value(values[f.name]) for f in FERNET_FIELDS)
        out.append((person_id, sealed.kek_version, bytes(sealed.wrapped_dek), bytes(sealed.ciphertext), rows, fernet))
    return out


def insert_rows(table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Bulk insert on Django's connection, inside its transaction: executemany on SQLite, COPY on PostgreSQL."""
    if not rows:
        return
    quote = connection.ops.quote_name
    names = ", ".join(quote(c) for c in columns)
    connection.ensure_connection()
    if connection.vendor == "sqlite":
        marks = ", ".join("?" * len(columns))
        connection.connection.executemany(f"INSERT INTO {quote(table)} ({names}) VALUES ({marks})", rows)  # noqa: S608
        return
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {quote(table)} ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


@dataclass
class Store:
    """What the benchmark has put in the database so far."""

    factory: IdentityFactory
    rng: random.Random
    ours_ids: list[str] = field(default_factory=list)  # filled people (not the measured batches)
    ours_count: int = 0
    fernet_count: int = 0
    call_sign_keys: set[str] = field(default_factory=set)
    fill_seconds: float = 0.0
    filled: int = 0

    def call_sign(self) -> str:
        while True:
            candidate = f"{self.rng.choice(callsigns.WORDS)}-{self.rng.randint(100, 9999)}"
            key = callsigns.call_sign_key(candidate)
            if key not in self.call_sign_keys:
                self.call_sign_keys.add(key)
                return candidate

    def rate(self) -> float | None:
        return self.filled / self.fill_seconds if self.fill_seconds > 1 else None


def fill(store: Store, target: int, pool: Any, workers: int) -> None:
    """Adds people to both tables until each holds ``target`` rows (not measured; no audit entries)."""
    ours_needed = max(0, target - store.ours_count)
    fernet_needed = max(0, target - store.fernet_count)
    total = max(ours_needed, fernet_needed)
    if not total:
        return
    rate = store.rate()
    guess = f"about {total / rate:,.0f} s at {rate:,.0f} people/s so far" if rate else "estimate after the first batch"
    print(f"  fill: adding {total:,} people to reach {target:,} ({guess}); bypasses the audit log, not measured")

    chunk_size = 250

    def chunks() -> Iterator[list[dict[str, Any]]]:
        for start in range(0, total, chunk_size):
            yield [next(store.factory) for _ in range(min(chunk_size, total - start))]

    person_columns = [f.column for f in Person._meta.concrete_fields]
    sealed_columns = [f.column for f in SealedIdentity._meta.concrete_fields]
    index_columns = [f.column for f in BlindIndex._meta.concrete_fields if not f.primary_key]
    fernet_columns = [f.column for f in FERNET_FIELDS]
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    started = time.perf_counter()
    done = 0
    last_report = 0
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:  # fill only: a big page cache; reset before measuring
            cursor.execute(f"PRAGMA cache_size = {-FILL_CACHE_KIB}")
    results = pool.imap(prepare, chunks()) if pool is not None else map(prepare, chunks())
    pending: list[Prepared] = []

    def flush() -> None:
        nonlocal done
        ours = pending[: max(0, ours_needed - done)]
        fernet = pending[: max(0, fernet_needed - done)]
        people, sealed, index = [], [], []
        for person_id, kek_version, wrapped, ciphertext, rows, _ in ours:
            call_sign = store.call_sign()
            values = {
                "id": person_id,
                "call_sign": call_sign,
                "call_sign_key": callsigns.call_sign_key(call_sign),
                "legion": LEGION,
                "status": "received",
                "external_ref": None,
                "language": "ru",
                "created_at": now,
                "erased_at": None,
            }
            people.append([values[c] for c in person_columns])
            sealed.append([person_id, kek_version, wrapped, ciphertext, now])
            index.extend((person_id, name, version, value) for name, version, value in rows)
            store.ours_ids.append(person_id)
        assert sealed_columns == ["person_id", "kek_version", "wrapped_dek", "ciphertext", "updated_at"]
        assert index_columns == ["person_id", "name", "key_version", "value"]
        people.sort()
        sealed.sort()
        index.sort(key=lambda row: (row[1], row[2], row[3]))  # the lookup index's order: fewer pages touched
        with transaction.atomic():
            insert_rows(Person._meta.db_table, person_columns, people)
            insert_rows(SealedIdentity._meta.db_table, sealed_columns, sealed)
            insert_rows(BlindIndex._meta.db_table, index_columns, index)
            insert_rows(FernetIdentity._meta.db_table, fernet_columns, [p[5] for p in fernet])
        store.ours_count += len(ours)
        store.fernet_count += len(fernet)
        done += len(pending)
        pending.clear()

    for prepared in results:
        pending.extend(prepared)
        if len(pending) >= FILL_BATCH:
            flush()
            elapsed = time.perf_counter() - started
            if not rate and done >= FILL_BATCH:
                rate = done / elapsed
                print(
                    f"  fill: {rate:,.0f} people/s with {workers} worker(s): about {total / rate:,.0f} s for this fill"
                )
            if total >= 200_000 and done - last_report >= total // 10:
                last_report = done
                print(f"  fill: {done:,}/{total:,} in {elapsed:,.0f} s", file=sys.stderr, flush=True)
    if pending:
        flush()
    elapsed = time.perf_counter() - started
    store.fill_seconds += elapsed
    store.filled += total
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA cache_size = -2000")  # SQLite's default, as in production
        else:
            cursor.execute("ANALYZE")  # what autovacuum would do after a bulk load
    print(f"  fill: done in {elapsed:,.1f} s ({total / elapsed:,.0f} people/s)")


# --- measurements ------------------------------------------------------------------------------


def per_second(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def timed(func: Callable[[], object]) -> float:
    started = time.perf_counter()
    func()
    return time.perf_counter() - started


def touch(values: Any) -> int:
    """Reads every value (so a lazily decoded field would be decoded too)."""
    return sum(len(str(value)) for value in values)


def _person_row(person_id: str, call_sign: str) -> Person:
    return Person(
        id=person_id,
        call_sign=call_sign,
        call_sign_key=callsigns.call_sign_key(call_sign),
        legion=LEGION,
        language="ru",
        created_at=timezone.now(),
    )


def create_without_audit(identity: dict[str, Any]) -> Person:
    """``person_create`` minus its audit entry, one transaction: call sign, person, sealed identity
    and blind-index rows, sealed and indexed before the transaction as ``person_create`` does."""
    sealed = services.person_seal(identity)
    call_sign = services.choose_call_sign(None, identity)
    with transaction.atomic():
        person = _person_row(sealed.person_id, call_sign)
        db.insert_instances(Person, [person])
        db.insert_instances(SealedIdentity, [sealed.sealed])
        db.insert_rows(BlindIndex, services.INDEX_COLUMNS, [(sealed.person_id, *value) for value in sealed.index])
    return person


def create_seal_only(identities: Sequence[dict[str, Any]], store: Store) -> list[Person]:
    """ "Seal only", what the library does: encrypt each identity (fresh data key, wrapped, AES-GCM)
    and store it, in one transaction for all of ``identities`` (one each when called with one).
    Our pseudonymous person row is written too (the sealed identity's foreign key); its call sign
    comes from the bench's in-memory generator, as in the fill (no word-list queries); no blind
    index, no audit entry."""
    provider = services.key_provider()
    ids = [services.new_person_id() for _ in identities]
    sealed = [services._seal_identity(pid, identity, provider) for pid, identity in zip(ids, identities, strict=True)]
    with transaction.atomic():
        people = [_person_row(pid, store.call_sign()) for pid in ids]
        db.insert_instances(Person, people)
        db.insert_instances(SealedIdentity, sealed)
    return people


def create_batch_without_audit(identities: Sequence[dict[str, Any]]) -> list[Person]:
    """``people_create_batch`` minus its audit entries: one transaction for the whole batch."""
    items = [services.NewPerson(identity=i, legion=LEGION, language="ru") for i in identities]
    return insert_sealed(items, services.people_seal(items))


def insert_sealed(items: Sequence[services.NewPerson], sealed: Sequence[services.SealedPerson]) -> list[Person]:
    """The database side of ``create_batch_without_audit``: call signs, then every row, one transaction."""
    with transaction.atomic():
        people = [
            _person_row(s.person_id, call_sign)
            for s, call_sign in zip(sealed, services._free_call_signs(items), strict=True)
        ]
        db.insert_instances(Person, people)
        db.insert_instances(SealedIdentity, [s.sealed for s in sealed])
        db.insert_rows(BlindIndex, services.INDEX_COLUMNS, [(s.person_id, *value) for s in sealed for value in s.index])
    return people


def create_batch(identities: Sequence[dict[str, Any]], actor: services.Actor) -> list[Person]:
    """``people_create_batch`` as ``legionary import`` calls it: sealed first, then one transaction."""
    items = [services.NewPerson(identity=i, legion=LEGION, language="ru") for i in identities]
    sealed = services.people_seal(items)
    with transaction.atomic():
        return services.people_create_batch(items=items, actor=actor, sealed=sealed)


def fernet_batch(identities: Sequence[dict[str, Any]]) -> None:
    """The library's side of a batch: one ``bulk_create`` in one transaction."""
    with transaction.atomic():
        FernetIdentity.objects.bulk_create([FernetIdentity(**fernet_values(i)) for i in identities])


@dataclass
class Figures:
    size: int
    write_ours: float = 0.0
    write_ours_no_audit: float = 0.0
    write_ours_seal_only: float = 0.0
    write_fernet: float = 0.0
    batch_ours: float = 0.0
    batch_ours_no_audit: float = 0.0
    batch_ours_seal_only: float = 0.0
    batch_fernet: float = 0.0
    batch_ours_rows_only: float = 0.0
    read_ours: float = 0.0
    read_ours_audited: float = 0.0
    read_fernet: float = 0.0
    seal_us: float = 0.0
    call_sign_us: float = 0.0
    fernet_encrypt_us: float = 0.0
    tokens_us: float = 0.0
    hmac_us: float = 0.0
    index_rows_us: float = 0.0
    rows_per_person: float = 0.0
    lookup_p50_ms: float = 0.0
    lookup_p95_ms: float = 0.0
    lookup_queries: tuple[int, int] = (0, 0)
    lookup_hits: float = 0.0
    fernet_lookup_ms: float = 0.0


ROUND = 100  # measurements alternate between ours and fernet every ROUND items, so load hits both alike


def rounds(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), ROUND):
        yield items[start : start + ROUND]


def measure_writes(figures: Figures, store: Store, batch: list[dict[str, Any]]) -> None:
    """Identities/s written, ours and Fernet's, the same identities, two ways of batching.

    One by one (one transaction per identity, as a submission arrives): Fernet ``create``;
    ``person_create`` (seal + indexes + audit entry); the same without the audit entry; and "seal
    only" (person + sealed identity rows, no index, no audit: what the library stores).
    In batches of ``ROUND`` (one transaction per batch, as an import): Fernet ``bulk_create``;
    ``people_create_batch`` with its audit entries; without them; seal only.
    """
    system = services.Actor(name="intake:bench")
    made: list[Person] = []
    keys = ("fernet", "ours", "no_audit", "seal_only", "b_fernet", "b_ours", "b_no_audit", "b_seal_only", "b_rows")
    seconds = dict.fromkeys(keys, 0.0)
    for part in rounds(batch):
        seconds["fernet"] += timed(lambda: [FernetIdentity.objects.create(**fernet_values(i)) for i in part])  # noqa: B023
        seconds["ours"] += timed(
            lambda: made.extend(services.person_create(identity=i, legion=LEGION, actor=system) for i in part)  # noqa: B023
        )
        seconds["no_audit"] += timed(lambda: made.extend(create_without_audit(i) for i in part))  # noqa: B023
        seconds["seal_only"] += timed(lambda: [made.extend(create_seal_only([i], store)) for i in part])  # noqa: B023
        seconds["b_fernet"] += timed(lambda: fernet_batch(part))  # noqa: B023
        seconds["b_ours"] += timed(lambda: made.extend(create_batch(part, system)))  # noqa: B023
        seconds["b_no_audit"] += timed(lambda: made.extend(create_batch_without_audit(part)))  # noqa: B023
        seconds["b_seal_only"] += timed(lambda: made.extend(create_seal_only(part, store)))  # noqa: B023
        items = [services.NewPerson(identity=i, legion=LEGION, language="ru") for i in part]
        sealed = services.people_seal(items)  # not timed: only the rows' cost to the database
        seconds["b_rows"] += timed(lambda: made.extend(insert_sealed(items, sealed)))  # noqa: B023
    figures.write_fernet = per_second(len(batch), seconds["fernet"])
    figures.write_ours = per_second(len(batch), seconds["ours"])
    figures.write_ours_no_audit = per_second(len(batch), seconds["no_audit"])
    figures.write_ours_seal_only = per_second(len(batch), seconds["seal_only"])
    figures.batch_fernet = per_second(len(batch), seconds["b_fernet"])
    figures.batch_ours = per_second(len(batch), seconds["b_ours"])
    figures.batch_ours_no_audit = per_second(len(batch), seconds["b_no_audit"])
    figures.batch_ours_seal_only = per_second(len(batch), seconds["b_seal_only"])
    figures.batch_ours_rows_only = per_second(len(batch), seconds["b_rows"])
    store.fernet_count += 2 * len(batch)
    store.ours_count += len(made)
    store.call_sign_keys.update(p.call_sign_key for p in made)


def measure_cpu(figures: Figures, batch: list[dict[str, Any]]) -> None:
    """µs per identity of the parts of a write: sealing, Fernet fields, call sign, tokens, HMACs, rows."""
    provider = services.key_provider()
    ids = [services.new_person_id() for _ in batch]
    pairs = list(zip(ids, batch, strict=True))
    values = [fernet_values(i) for i in batch]
    scale = 1e6 / len(batch)
    figures.seal_us = timed(lambda: [services._seal_identity(p, i, provider) for p, i in pairs]) * scale
    figures.fernet_encrypt_us = timed(lambda: [[f.get_prep_value(v[f.name]) for f in FERNET_FIELDS] for v in values])
    figures.fernet_encrypt_us *= scale
    figures.call_sign_us = timed(lambda: [services.choose_call_sign(None, i) for i in batch]) * scale
    figures.tokens_us = timed(lambda: [matching.identity_tokens(i) for i in batch]) * scale
    tokens = [matching.identity_tokens(i) for i in batch]

    def hmacs() -> None:
        table = services._indexers(provider)
        for pairs_of_one in tokens:
            for name, value in pairs_of_one:
                services._indexer(table, provider, name)[1](value)

    figures.hmac_us = timed(hmacs) * scale
    rows: list[int] = []
    figures.index_rows_us = timed(lambda: rows.extend(len(services._index_values(i, provider)) for _, i in pairs))
    figures.index_rows_us *= scale
    figures.rows_per_person = sum(rows) / len(batch)


def measure_reads(figures: Figures, store: Store, count: int, officer: services.Actor) -> None:
    """Identities/s opened: ours raw, ours audited (unseal), Fernet ``get`` with every field read."""
    people = list(Person.objects.filter(id__in=store.rng.sample(store.ours_ids, count)))
    top = FernetIdentity.objects.aggregate(top=Max("id"))["top"]
    fernet_ids = store.rng.sample(range(1, top + 1), len(people))
    sink = 0

    def ours_raw(part: Sequence[Person]) -> None:
        nonlocal sink
        for person in part:
            sink += touch(services._open_identity(person, services.key_provider()).values())

    def ours_audited(part: Sequence[Person]) -> None:
        nonlocal sink
        for person in part:
            identity = services.unseal_identity(person=person, actor=officer, reason="Benchmark: vetting re-check")
            sink += touch(identity.values())

    def fernet(part: Sequence[int]) -> None:
        nonlocal sink
        for pk in part:
            row = FernetIdentity.objects.get(pk=pk)
            sink += touch(getattr(row, f.name) for f in FERNET_FIELDS)

    seconds = {"fernet": 0.0, "ours": 0.0, "audited": 0.0}
    for start in range(0, len(people), ROUND):
        seconds["fernet"] += timed(lambda: fernet(fernet_ids[start : start + ROUND]))  # noqa: B023
        seconds["ours"] += timed(lambda: ours_raw(people[start : start + ROUND]))  # noqa: B023
        seconds["audited"] += timed(lambda: ours_audited(people[start : start + ROUND]))  # noqa: B023
    figures.read_fernet = per_second(len(people), seconds["fernet"])
    figures.read_ours = per_second(len(people), seconds["ours"])
    figures.read_ours_audited = per_second(len(people), seconds["audited"])
    assert sink > 0


def measure_lookup(figures: Figures, store: Store, count: int) -> None:
    probes = list(Person.objects.filter(id__in=store.rng.sample(store.ours_ids, count + 20)))
    store.rng.shuffle(probes)
    for person in probes[:20]:  # warm the caches; not counted
        services.duplicate_candidates(person)
    probes = probes[20:]
    latencies, hits = [], 0
    for person in probes:
        started = time.perf_counter()
        found = services.duplicate_candidates(person)
        latencies.append((time.perf_counter() - started) * 1000)
        hits += bool(found)
    queries = []
    with CaptureQueriesContext(connection) as captured:
        for person in probes[:50]:
            before = len(captured)
            services.duplicate_candidates(person)
            queries.append(len(captured) - before)
    figures.lookup_p50_ms = statistics.median(latencies)
    figures.lookup_p95_ms = statistics.quantiles(latencies, n=20)[18]
    figures.lookup_queries = (min(queries), max(queries))
    figures.lookup_hits = hits / len(probes)


def fernet_scan_ms_per_row(probe: dict[str, Any]) -> tuple[float, int, int]:
    """Decrypts up to ``FERNET_SCAN_ROWS`` rows and compares each with ``probe``: ms/row, rows, matches.

    The cheapest comparison a developer could write (exact birth date, then document number,
    phone digits, e-mail or case-folded name), so the figure is a lower bound on a real search.
    """
    birth_date = probe["date_of_birth"]
    numbers = {matching.normalise_document_number(d["number"]) for d in probe.get("documents", [])}
    phone = "".join(ch for ch in probe.get("phone") or "" if ch.isdigit())[-9:]
    email = (probe.get("email") or "").casefold()
    name = (probe["given_names"].casefold(), probe["family_name"].casefold())
    rows = matches = 0
    started = time.perf_counter()
    for row in FernetIdentity.objects.order_by("pk")[:FERNET_SCAN_ROWS].iterator(chunk_size=2000):
        rows += 1
        if row.date_of_birth != birth_date:
            continue
        if (
            any(matching.normalise_document_number(d["number"]) in numbers for d in row.documents)
            or (phone and "".join(ch for ch in row.phone or "" if ch.isdigit())[-9:] == phone)
            or (email and (row.email or "").casefold() == email)
            or (row.given_names.casefold(), row.family_name.casefold()) == name
        ):
            matches += 1
    elapsed = time.perf_counter() - started
    return elapsed * 1000 / max(rows, 1), rows, matches


# --- report --------------------------------------------------------------------------------------


def queries(f: Figures) -> str:
    low, high = f.lookup_queries
    return f"{low}" if low == high else f"{low}–{high}"


def ratio(ours: float, fernet: float) -> str:
    return f"{ours / fernet:.2f}×" if fernet else "n/a"


def print_size(f: Figures, fernet_rows: int) -> None:
    rows = [
        ("write, identities/s", f"{f.write_ours:,.0f}", f"{f.write_fernet:,.0f}", ratio(f.write_ours, f.write_fernet),
         "ours: person_create (seal + indexes + audit entry)"),
        ("  write without audit entry", f"{f.write_ours_no_audit:,.0f}", "",
         ratio(f.write_ours_no_audit, f.write_fernet),
         "ours: call sign + seal + index rows, one transaction"),
        ("  write, seal only", f"{f.write_ours_seal_only:,.0f}", "",
         ratio(f.write_ours_seal_only, f.write_fernet),
         "ours: seal + person + sealed identity rows (no index, no audit)"),
        (f"write in batches of {ROUND}", f"{f.batch_ours:,.0f}", f"{f.batch_fernet:,.0f}",
         ratio(f.batch_ours, f.batch_fernet),
         "ours: people_create_batch (seal + indexes + audit); fernet: bulk_create"),
        ("  batches, no audit entries", f"{f.batch_ours_no_audit:,.0f}", "",
         ratio(f.batch_ours_no_audit, f.batch_fernet), "ours: seal + index rows"),
        ("  batches, seal only", f"{f.batch_ours_seal_only:,.0f}", "",
         ratio(f.batch_ours_seal_only, f.batch_fernet), "ours: seal + person + sealed identity rows"),
        ("  batches, rows only", f"{f.batch_ours_rows_only:,.0f}", "",
         ratio(f.batch_ours_rows_only, f.batch_fernet),
         "ours: the no-audit batch's call signs and rows, sealed and indexed beforehand (no CPU for tokens)"),
        ("read, identities/s", f"{f.read_ours:,.0f}", f"{f.read_fernet:,.0f}", ratio(f.read_ours, f.read_fernet),
         "ours: _open_identity; fernet: get(pk) + every field"),
        ("  read audited (unseal)", f"{f.read_ours_audited:,.0f}", "", ratio(f.read_ours_audited, f.read_fernet),
         "ours: unseal_identity by a security officer"),
        ("encrypt CPU, µs/identity", f"{f.seal_us:,.1f}", f"{f.fernet_encrypt_us:,.1f}",
         ratio(f.fernet_encrypt_us, f.seal_us), "ours: DEK + wrap + AES-GCM + JSON (ratio: fernet/ours time)"),
        ("blind index, µs/person", f"{f.index_rows_us:,.0f}", "none", "",
         f"_index_values: {f.rows_per_person:.1f} rows; of which identity tokens {f.tokens_us:,.0f}, "
         f"their HMACs {f.hmac_us:,.0f}; the rest: next-of-kin names"),
        ("call-sign choice, µs", f"{f.call_sign_us:,.0f}", "none", "", "choose_call_sign: name skeletons + queries"),
        ("dup lookup p50, ms", f"{f.lookup_p50_ms:,.2f}", f"{f.fernet_lookup_ms:,.0f}",
         f"{f.fernet_lookup_ms / f.lookup_p50_ms:,.0f}× less" if f.lookup_p50_ms else "",
         f"fernet: decrypt + compare all {fernet_rows:,} rows, scaled from {FERNET_SCAN_ROWS:,}"),
        ("dup lookup p95, ms", f"{f.lookup_p95_ms:,.2f}", "", "", f"{f.lookup_hits:.0%} of probes had candidates"),
        ("SQL queries per lookup", queries(f), "1", "", "fernet: one query reading the whole table"),
    ]  # fmt: skip
    print(f"  {'':29}{'ours':>11}{'fernet':>11}{'ours/fernet':>15}  note")
    for label, ours, fernet, r, note in rows:
        print(f"  {label:29}{ours:>11}{fernet:>11}{r:>15}  {note}")
    full, no_audit = 1e6 / f.write_ours, 1e6 / f.write_ours_no_audit
    cpu = f.call_sign_us + f.seal_us + f.index_rows_us
    print(
        f"  where one person_create's {full:,.0f} µs go: call sign {f.call_sign_us:,.0f}, seal {f.seal_us:,.0f}, "
        f"index rows {f.index_rows_us:,.0f}, inserting {f.rows_per_person + 2:.0f} rows + commit "
        f"~{max(no_audit - cpu, 0):,.0f} (remainder), audit entry ~{max(full - no_audit, 0):,.0f} (difference); "
        f"fernet create: {1e6 / f.write_fernet:,.0f} µs"
    )


def summary(results: list[tuple[Figures, int]]) -> None:
    print("\nSummary (ratios ours/fernet; above 1× means ours is faster)")
    print(
        f"  {'people':>10}{'write':>8}{'no audit':>10}{'seal':>8}{'batch':>8}{'b. no aud':>10}{'b. seal':>9}"
        f"{'read':>8}{'audited':>9}{'p50 ms':>9}{'p95 ms':>9}{'queries':>9}"
    )
    for f, _ in results:
        print(
            f"  {f.size:>10,}{f.write_ours / f.write_fernet:>7.2f}×{f.write_ours_no_audit / f.write_fernet:>9.2f}×"
            f"{f.write_ours_seal_only / f.write_fernet:>7.2f}×{f.batch_ours / f.batch_fernet:>7.2f}×"
            f"{f.batch_ours_no_audit / f.batch_fernet:>9.2f}×{f.batch_ours_seal_only / f.batch_fernet:>8.2f}×"
            f"{f.read_ours / f.read_fernet:>7.2f}×{f.read_ours_audited / f.read_fernet:>8.2f}×"
            f"{f.lookup_p50_ms:>9.2f}{f.lookup_p95_ms:>9.2f}{queries(f):>9}"
        )
    write = min(results, key=lambda r: r[0].write_ours / r[0].write_fernet)[0]
    read = min(results, key=lambda r: r[0].read_ours / r[0].read_fernet)[0]
    audited = min(results, key=lambda r: r[0].read_ours_audited / r[0].read_fernet)[0]

    def verdict(ok: bool) -> str:
        return "MET" if ok else "NOT MET"

    def worst(attribute: str, fernet: str) -> float:
        return min(getattr(f, attribute) / getattr(f, fernet) for f, _ in results)

    w, r = write.write_ours / write.write_fernet, read.read_ours / read.read_fernet
    a = audited.read_ours_audited / audited.read_fernet
    print(
        f"GOAL write ≥ 1× fernet: {verdict(w >= 1)} — one by one, person_create (with audit entry) at worst {w:.2f}× "
        f"(at {write.size:,}); without the audit entry {worst('write_ours_no_audit', 'write_fernet'):.2f}×; "
        f"seal only {worst('write_ours_seal_only', 'write_fernet'):.2f}×"
    )
    b = worst("batch_ours", "batch_fernet")
    print(
        f"     in batches of {ROUND}: {verdict(b >= 1)} — people_create_batch (with audit entries) at worst {b:.2f}×; "
        f"seal + index {worst('batch_ours_no_audit', 'batch_fernet'):.2f}×; "
        f"seal only {worst('batch_ours_seal_only', 'batch_fernet'):.2f}×; "
        f"the same rows with sealing and tokens done beforehand {worst('batch_ours_rows_only', 'batch_fernet'):.2f}×"
    )
    print(
        f"GOAL read ≥ 1× fernet: {verdict(r >= 1)} — raw open at worst {r:.2f}× (at {read.size:,}); "
        f"audited unseal (not required: fernet records nothing) at worst {a:.2f}× (at {audited.size:,})"
    )
    first, last = results[0][0], results[-1][0]
    if len(results) < 2 or last.size < 10 * first.size:
        print(f"GOAL lookup flat: NOT SHOWN — needs two sizes at least 10× apart (p50 {first.lookup_p50_ms:.2f} ms)")
    else:
        growth = last.lookup_p50_ms / first.lookup_p50_ms
        same_queries = last.lookup_queries[1] <= first.lookup_queries[1] + 1
        print(
            f"GOAL lookup flat: {verdict(growth < FLAT_LIMIT and same_queries)} — p50 {first.lookup_p50_ms:.2f} ms at "
            f"{first.size:,} → {last.lookup_p50_ms:.2f} ms at {last.size:,} "
            f"(×{growth:.2f} for ×{last.size // first.size} people; flat means under ×{FLAT_LIMIT:g}), "
            f"{queries(last)} queries per lookup; "
            f"fernet would scan all rows: ~{last.fernet_lookup_ms:,.0f} ms per probe"
        )


# --- main ----------------------------------------------------------------------------------------


def setup_database() -> None:
    if connection.vendor == "postgresql":
        # DATABASE_URL's database is only used to create one for this run (dropped at the end).
        default = connections["default"]
        name = default.settings_dict["NAME"]
        with default._nodb_cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
    call_command("migrate", run_syncdb=True, verbosity=0)
    services.keyring_init()
    signing_key_init()


def teardown_database() -> None:
    connections.close_all()
    if connection.vendor == "postgresql":
        name = connections["default"].settings_dict["NAME"]
        with connections["default"]._nodb_cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')


def security_officer() -> services.Actor:
    staff = Staff.objects.create(username="bench-security-officer")
    RoleGrant.objects.create(staff=staff, role=Role.SECURITY_OFFICER, scope_kind=ScopeKind.SYSTEM)
    return services.Actor(name=f"staff:{staff.username}", staff=staff)


def describe_database() -> str:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            return f"PostgreSQL {cursor.fetchone()[0]} (database {connection.settings_dict['NAME']})"
    import sqlite3

    return f"SQLite {sqlite3.sqlite_version} (WAL) at {settings.DATABASES['default']['NAME']}"


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="people stored before each measurement (ascending)")
    parser.add_argument("--batch", type=int, default=1000, help="new people per write measurement")
    parser.add_argument("--reads", type=int, default=1000, help="people opened per read measurement")
    parser.add_argument("--probes", type=int, default=200, help="duplicate lookups per size")
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1), help="fill processes (0: inline)")
    parser.add_argument("--seed", type=int, default=20240611)
    args = parser.parse_args(argv)
    args.sizes = sorted({int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()})
    if not args.sizes or args.sizes[0] < FERNET_SCAN_ROWS:
        parser.error(f"every size must be at least {FERNET_SCAN_ROWS:,}")
    return args


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    from importlib.metadata import version

    setup_database()
    print((__doc__ or "").splitlines()[0])
    print(
        f"database: {describe_database()}; Python {sys.version.split()[0]}, Django {django.get_version()}, "
        f"cryptography {cryptography.__version__}, "
        f"django-fernet-encrypted-fields {version('django-fernet-encrypted-fields')}"
    )
    print(f"sizes {', '.join(f'{s:,}' for s in args.sizes)}; batch {args.batch}, reads {args.reads}, "
          f"probes {args.probes}; {os.cpu_count()} CPUs, {args.workers} fill worker(s); seed {args.seed}")  # fmt: skip
    if args.sizes[-1] >= 500_000:
        print(
            f"note: filling to {args.sizes[-1]:,} people takes a while (about 15-30 minutes on 2 cores); "
            "the estimate printed after the first fill batch is the one to trust"
        )
    officer = security_officer()
    store = Store(factory=IdentityFactory(args.seed), rng=random.Random(args.seed + 1))
    # The library derives its key with PBKDF2 (100,000 rounds) once per field: do it before
    # timing anything, and before forking, so the workers inherit the keys.
    FernetIdentity.objects.create(**fernet_values(next(store.factory)))
    store.fernet_count = 1
    connections.close_all()  # the workers must not share the parent's database connection
    pool = get_context("fork").Pool(args.workers, initializer=memoise_names) if args.workers > 0 else None
    results: list[tuple[Figures, int]] = []
    fernet_ms_per_row = 0.0
    try:
        for size in args.sizes:
            print(f"\n== {size:,} people ==")
            fill(store, size, pool, max(args.workers, 1))
            figures = Figures(size=size)
            batch = [next(store.factory) for _ in range(args.batch)]
            if not fernet_ms_per_row:
                fernet_ms_per_row, scanned, matches = fernet_scan_ms_per_row(batch[0])
                print(
                    f"  fernet scan: {scanned:,} rows decrypted and compared in {fernet_ms_per_row * scanned:,.0f} ms "
                    f"({fernet_ms_per_row * 1000:.0f} µs/row, {matches} match); other sizes are extrapolated"
                )
            fernet_rows = store.fernet_count
            figures.fernet_lookup_ms = fernet_ms_per_row * fernet_rows
            measure_cpu(figures, batch)
            measure_writes(figures, store, batch)
            measure_reads(figures, store, args.reads, officer)
            measure_lookup(figures, store, args.probes)
            print_size(figures, fernet_rows)
            results.append((figures, fernet_rows))
        summary(results)
    finally:
        if pool is not None:
            pool.terminate()
        teardown_database()
        shutil.rmtree(HOME, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
