"""The knowledge check: enough questions, every concept covered, every answer explained."""

from __future__ import annotations

from collections import Counter

from genlab.web.content import quiz

CONCEPTS = {"Autoencoder", "ELBO", "Reparameterization", "Latent Space", "GAN", "DCGAN",
            "Mode Collapse"}


def test_quiz_endpoint_has_twelve_or_more_questions_over_the_seven_concepts(client):
    data = client.get("/api/quiz").json()
    assert set(data["concepts"]) == CONCEPTS
    assert len(data["questions"]) >= 12
    per_concept = Counter(q["concept"] for q in data["questions"])
    assert set(per_concept) == CONCEPTS
    assert min(per_concept.values()) >= 1


def test_questions_are_well_formed():
    ids = [q["id"] for q in quiz.QUESTIONS]
    assert len(ids) == len(set(ids))
    for q in quiz.QUESTIONS:
        assert q["concept"] in CONCEPTS, q["id"]
        assert 3 <= len(q["options"]) <= 5, q["id"]
        assert len(set(q["options"])) == len(q["options"]), q["id"]
        assert 0 <= q["answer"] < len(q["options"]), q["id"]
        assert len(q["explanation"]) > 60, q["id"]  # explains, not just "correct"
        assert q["question"].strip().endswith("?"), q["id"]


def test_right_answers_are_not_all_in_one_position():
    positions = Counter(q["answer"] for q in quiz.QUESTIONS)
    assert len(positions) >= 3
    assert max(positions.values()) <= len(quiz.QUESTIONS) // 2


def test_page_renders_every_question_as_a_form(client):
    page = client.get("/").text
    for q in quiz.QUESTIONS:
        assert f'data-qid="{q["id"]}" data-answer="{q["answer"]}"' in page
