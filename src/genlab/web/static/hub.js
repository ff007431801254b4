// The lesson page: progress (answers, sections read, simulations tried) kept in localStorage,
// the knowledge check, the architecture diagrams, and the live simulations (static/sims/).
import { initDiagrams } from "./diagrams.js";

const KEY = "genlab.progress.v1";
const empty = () => ({ answers: {}, read: {}, sims: {}, challenges: {}, learner: newLearner() });

// The static site (genlab export-site) carries the option orders of a set of learner ids,
// computed by the server's shuffle when it was exported: a learner there is one of them.
const SITE_QUIZ = window.GENLAB_SITE && window.GENLAB_SITE.quiz;

// A random id for this browser: the seed of its option order (GET /api/quiz?learner=ID).
function newLearner() {
  if (SITE_QUIZ) {
    const ids = Object.keys(SITE_QUIZ.orders);
    return ids[Math.floor(Math.random() * ids.length)];
  }
  const bytes = new Uint8Array(8);
  crypto.getRandomValues(bytes);
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);

// Stored progress, whatever shape it is in. Answers are kept as option ids (strings); an
// older page stored the position of the chosen option (a number), which means nothing once
// the options are shuffled or rewritten, so those answers are dropped.
function loadProgress() {
  const fresh = empty();
  try {
    const saved = JSON.parse(localStorage.getItem(KEY) || "null");
    if (!isObject(saved)) return fresh;
    const answers = {};
    if (isObject(saved.answers)) {
      for (const [qid, oid] of Object.entries(saved.answers)) {
        if (typeof oid === "string") answers[qid] = oid;
      }
    }
    return {
      answers,
      read: isObject(saved.read) ? saved.read : {},
      sims: isObject(saved.sims) ? saved.sims : {},
      challenges: validChallenges(saved.challenges),
      learner:
        typeof saved.learner === "string" && /^[0-9a-f]{16}$/.test(saved.learner)
          && (!SITE_QUIZ || saved.learner in SITE_QUIZ.orders)
          ? saved.learner
          : fresh.learner,
    };
  } catch (_) {
    /* unreadable or blocked storage: start fresh */
  }
  return fresh;
}

// Passed challenges: {id: {title, sim, at}} (the id is the server's name for a challenge and
// the values it locks: static/sims/challenge.js reports it with the pass).
function validChallenges(saved) {
  const out = {};
  if (!isObject(saved)) return out;
  for (const [id, c] of Object.entries(saved)) {
    if (/^[0-9a-f]{16}$/.test(id) && isObject(c) && typeof c.title === "string") {
      out[id] = { title: c.title.slice(0, 240), sim: String(c.sim || ""), at: Number(c.at) || 0 };
    }
  }
  return out;
}

function save() {
  try {
    localStorage.setItem(KEY, JSON.stringify(progress));
  } catch (_) {
    /* private mode or full: progress lasts for this page only */
  }
}

let progress = loadProgress();
save(); // keeps the learner's id (their option order) and drops what could not be read

// ------------------------------------------------------------------ knowledge check
const optionOf = (form, oid) =>
  [...form.querySelectorAll("label.opt")].find((label) => label.dataset.option === oid);

function showAnswer(form, chosen) {
  const correct = form.dataset.answer;
  form.querySelectorAll('input[type="radio"]').forEach((input) => {
    const label = input.closest(".opt");
    input.checked = input.value === chosen;
    label.classList.toggle("correct", input.value === correct);
    label.classList.toggle("wrong", input.value === chosen && chosen !== correct);
  });
  const feedback = form.querySelector(".feedback");
  const explanation = form.querySelector(".explain").textContent;
  const right = chosen === correct;
  const answerText = optionOf(form, correct).textContent.trim();
  feedback.className = `feedback ${right ? "correct" : "wrong"}`;
  const verdict = document.createElement("p");
  const strong = document.createElement("strong");
  strong.textContent = right ? "Correct." : "Not quite.";
  verdict.append(strong, right ? "" : ` The answer is: ${answerText}`);
  const why = document.createElement("p");
  why.textContent = explanation;
  feedback.replaceChildren(verdict, why);
}

function clearAnswer(form) {
  form.querySelectorAll('input[type="radio"]').forEach((input) => {
    input.checked = false;
    input.closest(".opt").classList.remove("correct", "wrong");
  });
  const feedback = form.querySelector(".feedback");
  feedback.className = "feedback";
  feedback.replaceChildren();
}

// The stored answer of a question, if it names one of its options (ids can disappear when a
// question is rewritten: such an answer is ignored).
function storedAnswer(form) {
  const oid = progress.answers[form.dataset.qid];
  return typeof oid === "string" && optionOf(form, oid) ? oid : null;
}

// Put each question's options in this learner's order (computed by the server, the one
// place the shuffle lives). Answers are ids, so nothing else changes.
async function shuffleForLearner() {
  const forms = new Map([...document.querySelectorAll("form.q")].map((f) => [f.dataset.qid, f]));
  if (!forms.size) return;
  try {
    let data;
    if (SITE_QUIZ) data = { questions: SITE_QUIZ.orders[progress.learner] || [] };
    else {
      const reply = await fetch(`/api/quiz?learner=${encodeURIComponent(progress.learner)}`);
      if (!reply.ok) return;
      data = await reply.json();
    }
    for (const q of data.questions) {
      const form = forms.get(q.id);
      const box = form && form.querySelector(".opts");
      if (!box) continue;
      const labels = q.options.map((o) => optionOf(form, o.id));
      if (labels.every(Boolean)) box.append(...labels);
    }
    document.body.dataset.quizOrder = progress.learner;
  } catch (_) {
    /* offline or blocked: the served order stays */
  }
}

function initQuiz() {
  for (const form of document.querySelectorAll("form.q")) {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const checked = form.querySelector('input[type="radio"]:checked');
      if (!checked) return;
      progress.answers[form.dataset.qid] = checked.value;
      save();
      showAnswer(form, checked.value);
      updateSummary();
    });
    const saved = storedAnswer(form);
    if (saved) showAnswer(form, saved);
  }
  shuffleForLearner();
}

// Per concept: right / answered / total, and for each concept with a wrong answer the
// sections those questions come from.
function updateQuizSummary(forms) {
  const box = document.getElementById("quiz-summary");
  if (!box) return;
  const stats = {};
  for (const form of forms) {
    const c = form.dataset.concept;
    const s = (stats[c] = stats[c] || { right: 0, answered: 0, total: 0, weak: new Set() });
    s.total += 1;
    const a = storedAnswer(form);
    if (!a) continue;
    s.answered += 1;
    if (a === form.dataset.answer) s.right += 1;
    else s.weak.add(form.dataset.section);
  }
  let answered = 0;
  for (const row of box.querySelectorAll("[data-summary-concept]")) {
    const s = stats[row.dataset.summaryConcept] || { right: 0, answered: 0, total: 0, weak: new Set() };
    answered += s.answered;
    row.querySelector(".summary-score").textContent = s.answered
      ? `${s.right} of ${s.answered} right (${s.total} questions)`
      : `not answered yet (${s.total} questions)`;
    row.classList.toggle("weak", s.weak.size > 0);
    row.classList.toggle("done", s.total > 0 && s.right === s.total);
    row.classList.toggle("untried", s.answered === 0);
    for (const link of row.querySelectorAll("a[data-reread]")) {
      link.hidden = !s.weak.has(link.dataset.reread);
    }
  }
  box.hidden = answered === 0;
}

// ------------------------------------------------------------------ sections read, sims tried
function markRead(id) {
  const link = document.querySelector(`.toc a[data-toc="${CSS.escape(id)}"]`);
  if (link) link.classList.add("read");
}

function initReading() {
  Object.keys(progress.read).forEach(markRead);
  if (!("IntersectionObserver" in window)) return;
  const observer = new IntersectionObserver((entries) => {
    for (const entry of entries) {
      if (!entry.isIntersecting) continue;
      const id = entry.target.dataset.section;
      observer.unobserve(entry.target);
      if (progress.read[id]) continue;
      progress.read[id] = true;
      save();
      markRead(id);
      updateSummary();
    }
  });
  for (const mark of document.querySelectorAll(".read-mark[data-section]")) {
    if (!progress.read[mark.dataset.section]) observer.observe(mark);
  }
}

// The contents entry of the section crossing the middle of the window is marked current.
function initCurrentSection() {
  if (!("IntersectionObserver" in window)) return;
  const links = new Map(
    [...document.querySelectorAll(".toc a[data-toc]")].map((a) => [a.dataset.toc, a])
  );
  const observer = new IntersectionObserver(
    (entries) => {
      for (const entry of entries) {
        if (!entry.isIntersecting) continue;
        for (const [id, a] of links) {
          if (id === entry.target.id) a.setAttribute("aria-current", "location");
          else a.removeAttribute("aria-current");
        }
      }
    },
    { rootMargin: "-45% 0px -50% 0px" }
  );
  for (const section of document.querySelectorAll("section.lesson-section")) {
    observer.observe(section);
  }
}

function initSimsTracking() {
  document.addEventListener("genlab:sim-started", (event) => {
    const sim = event.detail && event.detail.sim;
    if (!sim || progress.sims[sim]) return;
    progress.sims[sim] = true;
    save();
    updateSummary();
  });
}

function initChallengesTracking() {
  document.addEventListener("genlab:challenge-passed", (event) => {
    const d = event.detail || {};
    if (!/^[0-9a-f]{16}$/.test(d.id || "") || progress.challenges[d.id]) return;
    progress.challenges[d.id] = { title: String(d.title || ""), sim: String(d.sim || ""), at: d.step || 0 };
    save();
    updateSummary();
  });
}

// The sidebar's list of passed challenges and the marks beside the lesson's challenge links.
function updateChallenges() {
  const passed = progress.challenges;
  const count = document.getElementById("progress-challenges");
  if (count) count.textContent = String(Object.keys(passed).length);
  const list = document.getElementById("progress-challenge-list");
  if (list) {
    list.replaceChildren(...Object.entries(passed).map(([id, c]) => {
      const li = document.createElement("li");
      li.dataset.passed = id;
      li.textContent = `✓ ${c.title}`;
      return li;
    }));
  }
  for (const mark of document.querySelectorAll("[data-challenge-mark]")) {
    const done = Boolean(passed[mark.dataset.challengeMark]);
    mark.textContent = done ? "✓ passed" : "not yet";
    mark.classList.toggle("done", done);
  }
  document.dispatchEvent(new CustomEvent("genlab:challenges-known", { detail: { passed } }));
}

// ------------------------------------------------------------------ summary and reset
function updateSummary() {
  const forms = [...document.querySelectorAll("form.q")];
  let correct = 0;
  let answered = 0;
  const byConcept = {};
  for (const form of forms) {
    const c = form.dataset.concept;
    byConcept[c] = byConcept[c] || { right: 0, total: 0 };
    byConcept[c].total += 1;
    const a = storedAnswer(form);
    if (!a) continue;
    answered += 1;
    if (a === form.dataset.answer) {
      correct += 1;
      byConcept[c].right += 1;
    }
  }
  const set = (id, value) => {
    const node = document.getElementById(id);
    if (node) node.textContent = String(value);
  };
  set("progress-quiz", correct);
  set("progress-answered", answered);
  set("progress-read", Object.keys(progress.read).length);
  set("progress-sims", Object.keys(progress.sims).length);
  for (const span of document.querySelectorAll("[data-concept-score]")) {
    const s = byConcept[span.dataset.conceptScore] || { right: 0, total: 0 };
    span.textContent = `${s.right}/${s.total}`;
    span.closest(".chip").classList.toggle("done", s.total > 0 && s.right === s.total);
  }
  updateQuizSummary(forms);
  updateChallenges();
}

function initReset() {
  const button = document.getElementById("reset-progress");
  if (!button) return;
  button.addEventListener("click", () => {
    progress = empty();
    try {
      localStorage.removeItem(KEY);
    } catch (_) {
      /* nothing stored */
    }
    document.querySelectorAll("form.q").forEach(clearAnswer);
    save(); // the new learner id: a fresh start gets a fresh order
    shuffleForLearner();
    document.querySelectorAll(".toc a.read").forEach((a) => a.classList.remove("read"));
    updateSummary();
    initReading();
    const said = document.getElementById("progress-status");
    if (said) said.textContent = "Progress reset: answers, sections read, simulations tried and challenges passed.";
  });
}

// ------------------------------------------------------------------ live simulations
async function initSims() {
  if (document.body.dataset.sims !== "1") return;
  try {
    const sims = await import("/static/sims/index.js");
    if (typeof sims.mountAll === "function") await sims.mountAll();
  } catch (err) {
    console.error("genlab: the live simulations could not start:", err);
  }
}

// ------------------------------------------------------------------ formulas
// A formula line wider than its box (a narrow window between the CSS breakpoints, a large
// default font) is set in a smaller font, down to 60 %, so that nothing is clipped.
function fitFormulas() {
  for (const box of document.querySelectorAll(".math-scroll")) {
    const math = box.querySelector("math");
    if (!math) continue;
    math.style.fontSize = "";
    if (!box.clientWidth || box.scrollWidth <= box.clientWidth + 1) continue;
    const base = parseFloat(getComputedStyle(math).fontSize);
    const scale = Math.max(0.6, (box.clientWidth - 2) / box.scrollWidth);
    math.style.fontSize = `${(base * scale).toFixed(2)}px`;
  }
}
let fitTimer = null;
window.addEventListener("resize", () => { clearTimeout(fitTimer); fitTimer = setTimeout(fitFormulas, 100); });
if (document.fonts && document.fonts.ready) document.fonts.ready.then(fitFormulas);
fitFormulas();

initQuiz();
initReading();
initCurrentSection();
initSimsTracking();
initChallengesTracking();
initReset();
updateSummary();
initDiagrams();
initSims();
