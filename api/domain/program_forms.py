"""A program's application form (questions the brand defines) and the checks of the answers.

A question is {"key", "label", "kind": TEXT|CHOICE|URL, "required", "choices"}: a CHOICE answer
is one of its choices, a URL answer a public http(s) URL, a TEXT answer at most 2,000
characters. Answers are {key: text}; an answer to no question is refused.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from api.domain.problems import Problem, ProblemCode
from api.domain.validation import http_url

MAX_QUESTIONS = 30
MAX_ANSWER = 2000
MAX_CHOICES = 50
_KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


class QuestionKind(StrEnum):
    TEXT = "TEXT"
    CHOICE = "CHOICE"
    URL = "URL"


@dataclass(frozen=True, slots=True)
class Question:
    key: str
    label: str
    kind: QuestionKind
    required: bool = False
    choices: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "label": self.label,
            "kind": self.kind.value,
            "required": self.required,
            "choices": list(self.choices),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Question:
        return cls(
            data["key"],
            data["label"],
            QuestionKind(data["kind"]),
            bool(data.get("required")),
            tuple(data.get("choices") or ()),
        )


def check_form(questions: Sequence[Question]) -> list[Problem]:
    problems: list[Problem] = []
    if len(questions) > MAX_QUESTIONS:
        problems.append(
            Problem("questions", f"at most {MAX_QUESTIONS} questions", ProblemCode.OUT_OF_RANGE)
        )
    seen: set[str] = set()
    for index, question in enumerate(questions):
        where = f"questions[{index}]"
        if not _KEY.match(question.key):
            problems.append(
                Problem(
                    f"{where}.key",
                    "a key is lower-case letters, digits and _ (e.g. audience_size)",
                    ProblemCode.INVALID,
                )
            )
        elif question.key in seen:
            problems.append(Problem(f"{where}.key", "keys are unique", ProblemCode.DUPLICATE))
        seen.add(question.key)
        if not question.label.strip() or len(question.label) > 300:
            problems.append(
                Problem(f"{where}.label", "a label of 1 to 300 characters", ProblemCode.REQUIRED)
            )
        if question.kind is QuestionKind.CHOICE:
            choices = [c.strip() for c in question.choices]
            if not choices or len(choices) > MAX_CHOICES or not all(choices):
                problems.append(
                    Problem(
                        f"{where}.choices",
                        f"a choice question has 1 to {MAX_CHOICES} non-empty choices",
                        ProblemCode.REQUIRED,
                    )
                )
            elif len(set(choices)) != len(choices):
                problems.append(
                    Problem(f"{where}.choices", "choices are unique", ProblemCode.DUPLICATE)
                )
        elif question.choices:
            problems.append(
                Problem(
                    f"{where}.choices",
                    "only CHOICE questions have choices",
                    ProblemCode.NOT_ALLOWED,
                )
            )
    return problems


def check_answers(
    questions: Sequence[Question], answers: Mapping[str, str]
) -> tuple[dict[str, str], list[Problem]]:
    """The answers, trimmed (empty ones left out), and their problems."""
    problems: list[Problem] = []
    by_key = {q.key: q for q in questions}
    clean: dict[str, str] = {}
    for key in answers:
        if key not in by_key:
            problems.append(
                Problem(f"answers.{key}", "the form has no such question", ProblemCode.NOT_ALLOWED)
            )
    for question in questions:
        value = (answers.get(question.key) or "").strip()
        where = f"answers.{question.key}"
        if not value:
            if question.required:
                problems.append(Problem(where, "this question is required", ProblemCode.REQUIRED))
            continue
        if len(value) > MAX_ANSWER:
            problems.append(
                Problem(where, f"at most {MAX_ANSWER} characters", ProblemCode.OUT_OF_RANGE)
            )
        elif question.kind is QuestionKind.CHOICE and value not in question.choices:
            problems.append(
                Problem(where, f"choose one of {', '.join(question.choices)}", ProblemCode.INVALID)
            )
        elif question.kind is QuestionKind.URL and http_url(value) is None:
            problems.append(Problem(where, "an http(s) URL", ProblemCode.INVALID))
        else:
            clean[question.key] = value
    return clean, problems
