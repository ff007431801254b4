// The lesson page: progress (answers, sections read, simulations tried) kept in localStorage,
// the knowledge check, the architecture diagrams, and the live simulations (static/sims/).
import { initDiagrams } from "./diagrams.js";

const KEY = "genlab.progress.v1";
const empty = () => ({ answers: {}, read: {}, sims: {} });

function loadProgress() {
  try {
    const saved = JSON.parse(localStorage.getItem(KEY) || "null");
    if (saved && typeof saved === "object") return { ...empty(), ...saved };
  } catch (_) {
    /* unreadable or blocked storage: start fresh */
  }
  return empty();
}

let progress = loadProgress();

function save() {
  try {
    localStorage.setItem(KEY, JSON.stringify(progress));
  } catch (_) {
    /* private mode or full: progress lasts for this page only */
  }
}

// ------------------------------------------------------------------ knowledge check
function showAnswer(form, chosen) {
  const correct = Number(form.dataset.answer);
  const inputs = form.querySelectorAll('input[type="radio"]');
  inputs.forEach((input) => {
    const label = input.closest(".opt");
    const value = Number(input.value);
    input.checked = value === chosen;
    label.classList.toggle("correct", value === correct);
    label.classList.toggle("wrong", value === chosen && chosen !== correct);
  });
  const feedback = form.querySelector(".feedback");
  const explanation = form.querySelector(".explain").textContent;
  const right = chosen === correct;
  const answerText = inputs[correct].closest(".opt").textContent.trim();
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

function initQuiz() {
  for (const form of document.querySelectorAll("form.q")) {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const checked = form.querySelector('input[type="radio"]:checked');
      if (!checked) return;
      const chosen = Number(checked.value);
      progress.answers[form.dataset.qid] = chosen;
      save();
      showAnswer(form, chosen);
      updateSummary();
    });
    const saved = progress.answers[form.dataset.qid];
    if (Number.isInteger(saved)) showAnswer(form, saved);
  }
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
    const a = progress.answers[form.dataset.qid];
    if (!Number.isInteger(a)) continue;
    answered += 1;
    if (a === Number(form.dataset.answer)) {
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
    document.querySelectorAll(".toc a.read").forEach((a) => a.classList.remove("read"));
    updateSummary();
    initReading();
    const said = document.getElementById("progress-status");
    if (said) said.textContent = "Progress reset: answers, sections read and simulations tried.";
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

initQuiz();
initReading();
initCurrentSection();
initSimsTracking();
initReset();
updateSummary();
initDiagrams();
initSims();
