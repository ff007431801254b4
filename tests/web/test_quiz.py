"""The knowledge check: enough questions, every concept covered, every answer explained, and
no give-away in the quiz as served: the right answer is rarely the longest option, its
position is spread, and the per-learner shuffle is stable for one learner."""

from __future__ import annotations

import re
from collections import Counter
from html.parser import HTMLParser

from genlab.web import lesson
from genlab.web.content import quiz

CONCEPTS = {"Autoencoder", "ELBO", "Reparameterization", "Latent Space", "GAN", "DCGAN",
            "Mode Collapse"}


def test_quiz_endpoint_has_twenty_or_more_questions_over_the_seven_concepts(client):
    data = client.get("/api/quiz").json()
    assert set(data["concepts"]) == CONCEPTS
    assert len(data["questions"]) >= 20
    per_concept = Counter(q["concept"] for q in data["questions"])
    assert set(per_concept) == CONCEPTS
    assert min(per_concept.values()) >= 2


def test_questions_are_well_formed():
    ids = [q["id"] for q in quiz.QUESTIONS]
    assert len(ids) == len(set(ids))
    titles = lesson.section_titles()
    for q in quiz.QUESTIONS:
        assert q["concept"] in CONCEPTS, q["id"]
        assert 3 <= len(q["options"]) <= 5, q["id"]
        oids = quiz.option_ids(q)
        assert len(set(oids)) == len(oids), q["id"]
        assert all(re.fullmatch(r"[a-z0-9-]+", o) for o in oids), q["id"]
        assert len({text for _, text in q["options"]}) == len(oids), q["id"]
        assert q["answer"] in oids, q["id"]
        assert len(q["explanation"]) > 60, q["id"]  # explains, not just "correct"
        assert q["question"].strip().endswith("?"), q["id"]
        assert q["section"] in titles, (q["id"], q["section"])  # a section to reread
        assert q.get("sim") in (None, *lesson.SIMS), q["id"]


def test_some_questions_need_the_simulations():
    sims = Counter(q["sim"] for q in quiz.QUESTIONS if q.get("sim"))
    assert sims["gan2d"] >= 1 and sims["vae"] >= 1 and sum(sims.values()) >= 3


class _QuizParser(HTMLParser):
    """The questions of the served page: [(qid, answer id, [(option id, text), ...])]."""

    def __init__(self):
        super().__init__()
        self.questions, self._option = [], None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and "q" in (a.get("class") or "").split():
            self.questions.append((a["data-qid"], a["data-answer"], []))
        elif tag == "label" and "data-option" in a:
            self._option = [a["data-option"], ""]

    def handle_data(self, data):
        if self._option is not None:
            self._option[1] += data

    def handle_endtag(self, tag):
        if tag == "label" and self._option is not None:
            self.questions[-1][2].append((self._option[0], self._option[1].strip()))
            self._option = None


def served_page(client):
    parser = _QuizParser()
    parser.feed(client.get("/").text)
    return parser.questions


def longest_share(questions) -> float:
    """Share of questions whose right answer is the longest option (ties count as longest)."""
    hits = sum(len(dict(opts)[answer]) == max(len(t) for _, t in opts)
               for _, answer, opts in questions)
    return hits / len(questions)


def test_the_right_answer_is_the_longest_option_at_most_a_third_of_the_time(client):
    page = served_page(client)
    assert len(page) == len(quiz.QUESTIONS)
    share = longest_share(page)
    print(f"right answer is the longest option in {share:.0%} of {len(page)} served questions")
    assert share <= 1 / 3
    # ... nor the shortest: a test-wise learner gets no signal either way
    shortest = sum(len(dict(opts)[a]) == min(len(t) for _, t in opts)
                   for _, a, opts in page) / len(page)
    assert shortest <= 1 / 3
    api = [(q["id"], q["answer"], [(o["id"], o["text"]) for o in q["options"]])
           for q in client.get("/api/quiz").json()["questions"]]
    assert longest_share(api) == share  # the API serves the same texts


def test_the_measure_catches_a_quiz_whose_answers_are_the_longest():
    biased = [("q", "b", [("a", "short"), ("b", "a much longer, careful answer")])] * 3
    assert longest_share(biased) == 1.0


def _positions(questions):
    return Counter([oid for oid, _ in opts].index(answer) for _, answer, opts in questions)


def test_answer_positions_are_spread_in_the_source_and_on_the_page(client):
    canonical = _positions([(q["id"], q["answer"], q["options"]) for q in quiz.QUESTIONS])
    page = _positions(served_page(client))
    print(f"answer positions: source {dict(sorted(canonical.items()))}, "
          f"served page {dict(sorted(page.items()))}")
    n = len(quiz.QUESTIONS)
    for spread in (canonical, page):
        assert len(spread) == 4  # every position holds some right answers
        assert max(spread.values()) <= n * 0.4


def test_each_learner_gets_a_stable_shuffle_and_positions_are_spread(client):
    def order(learner):
        data = client.get("/api/quiz", params={"learner": learner}).json()["questions"]
        return {q["id"]: [o["id"] for o in q["options"]] for q in data}

    first = order("0123456789abcdef")
    assert order("0123456789abcdef") == first  # the same learner, the same order
    other = order("fedcba9876543210")
    assert other != first  # another learner, another order ...
    for q in quiz.QUESTIONS:  # ... of the same options, answer included
        assert sorted(other[q["id"]]) == sorted(quiz.option_ids(q))
    # over many learners the right answer lands in every position about equally often
    counts = Counter()
    for i in range(200):
        o = order(f"learner{i}")
        counts.update(o[q["id"]].index(q["answer"]) for q in quiz.QUESTIONS)
    total = sum(counts.values())
    assert set(counts) == {0, 1, 2, 3}
    assert all(0.2 <= c / total <= 0.3 for c in counts.values()), counts


def test_a_bad_learner_id_is_refused(client):
    assert client.get("/api/quiz", params={"learner": "<script>"}).status_code == 422
    assert client.get("/api/quiz", params={"learner": "x" * 33}).status_code == 422


def test_page_renders_every_question_as_a_form_with_option_ids(client):
    page = client.get("/").text
    for q in quiz.QUESTIONS:
        assert (f'data-qid="{q["id"]}" data-answer="{q["answer"]}" '
                f'data-concept="{q["concept"]}" data-section="{q["section"]}"') in page
        for oid in quiz.option_ids(q):
            assert f'name="q-{q["id"]}" value="{oid}"' in page


def test_summary_links_every_concept_to_its_sections(client):
    page = client.get("/").text
    assert 'id="quiz-summary"' in page
    for c in CONCEPTS:
        assert f'data-summary-concept="{c}"' in page
    for section in {q["section"] for q in quiz.QUESTIONS}:
        assert f'<a href="#{section}" data-reread="{section}"' in page
        assert f'<h3 id="{section}">' in page  # the link's target is on the page
