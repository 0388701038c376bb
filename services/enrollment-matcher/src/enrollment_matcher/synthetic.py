"""A synthetic population with known truth, for demos, tests and benchmarks.

Households live in real Inner Mongolia county codes with townships and villages; every
person has a valid ID number and appears in several departments' records. The errors are
the ones the bureau meets: traditional characters, homophones, stray and full-width spaces,
15-digit numbers, swapped digits, missing numbers, children recorded under a parent's
number, twins, newborn records with neither name nor number, moved addresses.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta

from enrollment_matcher.domain.ids import check_char
from enrollment_matcher.domain.text import _TRADITIONAL

COUNTIES = {
    "150302": "海勃湾区",
    "150303": "海南区",
    "150304": "乌达区",
    "150602": "东胜区",
    "150603": "康巴什区",
    "150621": "达拉特旗",
    "150622": "准格尔旗",
    "150623": "鄂托克前旗",
    "150624": "鄂托克旗",
    "150625": "杭锦旗",
    "150626": "乌审旗",
    "150627": "伊金霍洛旗",
    "150102": "新城区",
    "150203": "昆都仑区",
    "110105": "朝阳区",
    "610802": "榆阳区",
}
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏辉斌宇浩凯佳欣子涵轩怡雪梅琳晨阳博文"
    "思雨嘉宁鑫龙飞波建国海燕丹玲俊峰志晓东林婷慧颖琪瑞泽睿航天昊然诗语晴瑶璐莉倩悦蕾"
)
HOMOPHONES = {
    "伟": "玮炜韦",
    "丽": "莉立俐",
    "静": "婧晶靖",
    "军": "君均",
    "华": "桦骅",
    "明": "鸣铭",
    "芳": "方昉",
    "杰": "洁捷",
    "敏": "民珉",
    "磊": "垒",
    "强": "蔷",
    "勇": "永咏",
    "艳": "燕雁",
    "涛": "韬滔",
    "娜": "纳",
    "婷": "亭庭",
    "霞": "夏",
    "峰": "锋丰",
    "飞": "菲妃",
    "鹏": "朋",
    "辉": "晖徽",
    "秀": "绣",
    "英": "瑛莹",
    "玲": "琳灵",
    "红": "宏鸿",
    "平": "萍苹",
    "刚": "钢",
    "斌": "彬滨",
    "宇": "雨禹",
    "浩": "昊皓",
    "欣": "馨鑫",
    "凯": "恺楷",
    "佳": "嘉家",
    "子": "紫梓",
    "涵": "晗函",
    "轩": "萱宣",
    "怡": "仪宜",
    "晨": "辰",
    "博": "波",
    "思": "斯",
    "嘉": "佳家",
}
_TO_TRADITIONAL = {s: t for t, s in _TRADITIONAL.items()}
PLACES = (
    "红旗",
    "新华",
    "光明",
    "团结",
    "胜利",
    "东风",
    "幸福",
    "和平",
    "长青",
    "前进",
    "富民",
    "兴隆",
    "阿尔",
    "巴音",
    "乌兰",
    "赛汗",
)


@dataclass(slots=True)
class Person:
    """The truth about one person."""

    index: int
    certno: str
    name: str
    gender: str
    birth: date
    hukou: str
    address: str
    phone: str
    household: int
    parent: int | None = None
    facts: list[tuple[str, str, date]] = field(default_factory=list)


def make_certno(county: str, birth: date, gender: str, rng: random.Random) -> str:
    """A valid 18-character number (sequence odd for men, even for women)."""
    seq = rng.randrange(0, 500) * 2 + (1 if gender == "1" else 0)
    body = f"{county}{birth:%Y%m%d}{seq:03d}"
    return body + check_char(body)


class Population:
    """Persons, then their departments' records with realistic errors, all reproducible."""

    def __init__(self, persons: int, *, seed: int = 2026, as_of: date = date(2026, 11, 1)) -> None:
        self.rng = random.Random(seed)
        self.as_of = as_of
        self.people: list[Person] = []
        self.truth: dict[str, int] = {}
        self._serial = 0
        self._used: set[str] = set()
        while len(self.people) < persons:
            self._household()
        del self.people[persons:]

    def grow(self, persons: int) -> list[Person]:
        """New households (migrants, newborn families) arriving later: their persons."""
        start = len(self.people)
        while len(self.people) < start + persons:
            self._household()
        return self.people[start:]

    def _certno(self, county: str, birth: date, gender: str) -> str:
        while True:
            certno = make_certno(county, birth, gender, self.rng)
            if certno not in self._used:
                self._used.add(certno)
                return certno

    def _given(self, length: int | None = None) -> str:
        count = length or (1 if self.rng.random() < 0.3 else 2)
        return "".join(self.rng.choice(GIVEN) for _ in range(count))

    def _household(self) -> None:
        rng = self.rng
        county = (
            rng.choice(list(COUNTIES)[:12])
            if rng.random() < 0.93
            else rng.choice(list(COUNTIES)[12:])
        )
        town, village = rng.randrange(1, 12), rng.randrange(1, 30)
        hukou = f"{county}{town:03d}{village:03d}"
        place = rng.choice(PLACES)
        kind = "嘎查" if rng.random() < 0.3 else ("村" if rng.random() < 0.5 else "社区")
        address = f"{COUNTIES[county]}{place}镇{rng.choice(PLACES)}{kind}{rng.randrange(1, 300)}号"
        household = len(self.people)
        surname = rng.choice(SURNAMES)
        phone = f"1{rng.choice('3578')}{rng.randrange(10**9):09d}"
        father_birth = self.as_of - timedelta(days=rng.randrange(22 * 365, 80 * 365))
        adults = [
            ("1", father_birth, surname),
            ("2", father_birth + timedelta(days=rng.randrange(-1500, 1500)), rng.choice(SURNAMES)),
        ]
        if rng.random() < 0.2:
            adults = adults[:1]
        parents: list[Person] = []
        for gender, birth, sn in adults:
            parents.append(
                self._person(sn + self._given(), gender, birth, hukou, address, phone, household)
            )
        youngest = min(p.birth for p in parents)
        children = (
            rng.choice((0, 1, 1, 2, 2, 3))
            if youngest < self.as_of - timedelta(days=24 * 365)
            else 0
        )
        for _ in range(children):
            birth = youngest + timedelta(days=rng.randrange(22 * 365, 40 * 365))
            if birth > self.as_of:
                birth = self.as_of - timedelta(days=rng.randrange(0, 3 * 365))
            twins = 2 if rng.random() < 0.03 else 1
            first = self._given(1)
            for _ in range(twins):
                gender = rng.choice("12")
                given = first + self._given(1) if twins == 2 else self._given()
                child = self._person(
                    surname + given, gender, birth, hukou, address, phone, household
                )
                child.parent = parents[0].index

    def _person(
        self,
        name: str,
        gender: str,
        birth: date,
        hukou: str,
        address: str,
        phone: str,
        household: int,
    ) -> Person:
        county = hukou[:6]
        person = Person(
            len(self.people),
            self._certno(county, birth, gender),
            name,
            gender,
            birth,
            hukou,
            address,
            phone,
            household,
        )
        self.people.append(person)
        return person

    def facts(self, person: Person) -> list[tuple[str, str, date]]:
        """The sources that know this person and what each says (with dates)."""
        rng = self.rng
        as_of = self.as_of
        age = (as_of - person.birth).days // 365

        def day(back: int) -> date:
            return as_of - timedelta(days=rng.randrange(1, back))

        out: list[tuple[str, str, date]] = [("public_security", "", day(900))]
        roll = rng.random()
        cover = (
            "insured_local"
            if roll < 0.86
            else "insured_province"
            if roll < 0.89
            else "insured_other_province"
            if roll < 0.91
            else "lapsed"
            if roll < 0.96
            else ""
        )
        if cover:
            out.append(("insurance", cover, day(300)))
            if rng.random() < 0.6:
                older = "lapsed" if cover.startswith("insured") and rng.random() < 0.1 else cover
                out.append(("insurance", older, day(1000) - timedelta(days=300)))
        if 18 <= age < 60 and rng.random() < 0.45:
            out.append(("social_security", "", day(600)))
        if age < 1:
            out.append(("health", "", person.birth + timedelta(days=3)))
        elif rng.random() < 0.5:
            out.append(("health", "", day(700)))
        if 6 <= age <= 22:
            out.append(("education", "student", day(400)))
        extra = rng.random()
        if extra < 0.05:
            out.append(("civil_affairs", "low_income", day(500)))
        elif extra < 0.06:
            out.append(("civil_affairs", "deceased", day(200)))
        elif extra < 0.065 and 18 <= age < 30:
            out.append(("military", "enlisted", day(400)))
        elif extra < 0.068 and age >= 18:
            out.append(("justice", "in_custody", day(400)))
        elif extra < 0.071:
            out.append(("public_security", "emigrated", day(400)))
        return out

    def _noisy_name(self, name: str) -> str:
        rng = self.rng
        chars = list(name)
        roll = rng.random()
        if roll < 0.05:
            chars = [_TO_TRADITIONAL.get(c, c) for c in chars]
        elif roll < 0.08:
            spots = [i for i, c in enumerate(chars) if i > 0 and c in HOMOPHONES]
            if spots:
                i = rng.choice(spots)
                chars[i] = rng.choice(HOMOPHONES[chars[i]])
        elif roll < 0.09 and len(chars) > 2:
            chars[-1] = rng.choice(GIVEN)
        out = "".join(chars)
        if rng.random() < 0.04:
            out = out[0] + rng.choice((" ", "\u3000", "  ")) + out[1:]
        return out

    def _noisy_certno(self, person: Person, age: int) -> str:
        rng = self.rng
        certno = person.certno
        roll = rng.random()
        if roll < 0.05:
            return ""
        if roll < 0.08 and person.birth.year < 1990:
            return certno[:6] + certno[8:17]
        if roll < 0.09:
            i = rng.randrange(0, 16)
            swapped = list(certno)
            swapped[i], swapped[i + 1] = swapped[i + 1], swapped[i]
            return "".join(swapped)
        if roll < 0.11:
            return "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in certno)
        if certno.endswith("X") and rng.random() < 0.5:
            return certno[:17] + "x"
        return certno

    def records(
        self, people: list[Person] | None = None, *, month: int = 0, update: bool = False
    ) -> Iterator[dict[str, str]]:
        """CSV rows (CONTRACT columns) for `people`, each remembered in `truth`.

        `month` prefixes the record ids of a later delivery; `update` gives each person one
        new record of that month (a contribution, a lapse, a clinic visit) instead of a file.
        """
        rng = self.rng
        for person in people if people is not None else self.people:
            age = (self.as_of - person.birth).days // 365
            facts = (
                self.facts(person)
                if not update
                else [
                    (
                        rng.choice(("insurance", "health", "social_security")),
                        rng.choice(("insured_local", "", "lapsed")),
                        self.as_of + timedelta(days=30 * (month - 1) + rng.randrange(1, 28)),
                    )
                ]
            )
            for source, status, on in facts:
                self._serial += 1
                record_id = f"{source[:3].upper()}{month:02d}{self._serial:09d}"
                self.truth[record_id] = person.index
                certno = self._noisy_certno(person, age)
                name = self._noisy_name(person.name)
                birth = person.birth.isoformat()
                under_parent = False
                if age < 1 and source == "health":
                    certno, name = "", ""
                elif (
                    person.parent is not None
                    and age < 16
                    and source in ("health", "education")
                    and rng.random() < 0.25
                ):
                    # A minor's record under a parent's number still states the child's birth.
                    certno, under_parent = self.people[person.parent].certno, True
                if rng.random() < 0.01:
                    birth = (
                        person.birth + timedelta(days=rng.choice((1, -1, 30, 365)))
                    ).isoformat()
                elif certno and not under_parent and rng.random() < 0.3:
                    birth = ""
                address = person.address
                if rng.random() < 0.1:
                    street = rng.choice(PLACES)
                    address = f"{COUNTIES[person.hukou[:6]]}{street}路{rng.randrange(1, 999)}号"
                yield {
                    "record_id": record_id,
                    "source": source,
                    "certno": certno,
                    "psn_name": name,
                    "gender": person.gender if rng.random() < 0.9 else "",
                    "birth_date": birth,
                    "phone": person.phone if rng.random() < 0.5 else "",
                    "hukou_admdvs": person.hukou if rng.random() < 0.9 else person.hukou[:6],
                    "address": address if rng.random() < 0.85 else "",
                    "record_date": on.isoformat(),
                    "status": status,
                    "status_date": on.isoformat() if status else "",
                }
