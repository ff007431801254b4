// Your own data in a lab: a file picker and drag-and-drop, sent as one POST tied to the
// simulation's WebSocket session (the token of its "hello"). The server checks and reads the
// files (genlab/web/simulations/uploads.py) and answers one line: what was loaded, or which
// file and why not. Nothing is kept here: the data lives in the server's session.
import { el } from "./core.js";

// resolves with the session's {url, token, max_bytes} once its "hello" has arrived
function uploadTarget(shell, timeoutMs = 20000) {
  shell.ensureStarted();
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const tick = () => {
      const hello = shell.socket.hello;
      if (hello && hello.upload) resolve(hello.upload);
      else if (performance.now() - t0 > timeoutMs) reject(new Error("the server did not answer; press Play, then try again"));
      else setTimeout(tick, 50);
    };
    tick();
  });
}

// shell: the lab's SimShell; accept: the picker's file types; multiple: several files;
// dropTarget: the element files may be dropped on; onLoaded(message): after the server took them
export function mountUpload(shell, { label, accept, multiple = false, dropTarget, onLoaded }) {
  if (window.GENLAB_RECORDINGS) return el("span", { hidden: "" }); // a recording: no live lab to take files
  const input = el("input", { type: "file", accept, class: "sim-upload-input",
                              id: `${shell.id}-upload`, "data-upload": shell.kind });
  if (multiple) input.multiple = true;
  const line = el("span", { class: "sim-upload-line", role: "status", "aria-live": "polite" });
  const button = el("label", { for: input.id, class: "sim-upload-button", tabindex: "0",
                               "data-action": "upload" }, label);
  button.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); input.click(); } });
  input.addEventListener("change", () => { const files = [...input.files]; input.value = ""; send(files); });

  if (dropTarget) {
    dropTarget.addEventListener("dragover", (e) => { e.preventDefault(); dropTarget.classList.add("sim-dropping"); });
    dropTarget.addEventListener("dragleave", () => dropTarget.classList.remove("sim-dropping"));
    dropTarget.addEventListener("drop", (e) => {
      e.preventDefault();
      dropTarget.classList.remove("sim-dropping");
      const files = [...(e.dataTransfer ? e.dataTransfer.files : [])];
      if (files.length) send(files);
    });
  }

  let loaded = ""; // what the session holds now: a refused file leaves it (and this line) as it was

  async function send(files) {
    if (!files.length) return;
    shell.clearError();
    const root = shell.root;
    delete root.dataset.uploadError;
    root.dataset.uploading = "1";
    line.textContent = `Sending ${files.length === 1 ? files[0].name : `${files.length} files`}…`;
    try {
      const target = await uploadTarget(shell);
      const total = files.reduce((n, f) => n + f.size, 0);
      if (total > target.max_bytes) {
        throw new Error(`${files.length === 1 ? files[0].name : "these files"}: ` +
          `${(total / 2 ** 20).toFixed(1)} MiB, at most ${(target.max_bytes / 2 ** 20).toFixed(0)} MiB an upload`);
      }
      const form = new FormData();
      for (const f of files) form.append("file", f, f.name);
      const response = await fetch(target.url, { method: "POST", body: form,
                                                 headers: { "X-Genlab-Upload": target.token } });
      let answer;
      try { answer = await response.json(); } catch (e) { answer = { ok: false, message: `the server answered ${response.status}` }; }
      if (!answer.ok) throw new Error(answer.message);
      loaded = line.textContent = `Loaded ${answer.message}.`;
      root.dataset.uploaded = answer.message;
      if (onLoaded) onLoaded(answer.message);
    } catch (e) {
      line.textContent = loaded;
      root.dataset.uploadError = e.message;
      shell.showError(`Not loaded: ${e.message}`);
    } finally {
      delete root.dataset.uploading;
    }
  }

  return el("div", { class: "sim-upload" }, button, input, line);
}
