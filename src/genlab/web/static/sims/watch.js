// Watch mode of every live simulation (server side: genlab/web/simulations/watch.py).
// The driver: "Share live" → a link and a code that viewers open, and how many watch.
// A viewer (the link holds `<prefix>watch=<id>`): the driver's own frames, drawn by the same
// code, its settings shown but locked, "watching <driver>", and Fork: a copy of the driver's
// current model in a session of the viewer's own. Layout only: the server decides all of it.
import { el } from "./core.js";

function ensureStyles() {
  if (document.querySelector("link[data-watch-css]")) return;
  const link = el("link", { rel: "stylesheet", href: new URL("./watch.css", import.meta.url).href });
  link.dataset.watchCss = "1";
  document.head.append(link);
}

const viewersText = (n) => (n === 1 ? "1 viewer" : `${n} viewers`);

function watchLink(shell, id) {
  const url = new URL(window.location.href);
  url.searchParams.set(`${shell.prefix}watch`, id);
  return url.href;
}

export function attachWatch(shell) {
  ensureStyles();
  const param = `${shell.prefix}watch`;
  const panel = el("section", { class: "sim-watch", "data-watch": "panel", hidden: true,
                                "aria-label": "Share this simulation live" });
  const button = el("button", { type: "button", "data-action": "share-live",
    title: "let others watch this simulation live, and fork it",
    onclick: () => { if (!shell.root.dataset.shared) showShareForm(); panel.hidden = !panel.hidden; } },
    "Share live");
  shell.toolbar.insertBefore(button, shell.status);
  shell.root.insertBefore(panel, shell.body);

  // ---------------------------------------------------------------- the driver
  const nameInput = el("input", { type: "text", maxlength: "40", "data-watch": "name",
                                  placeholder: "learner N", autocomplete: "nickname" });
  const showShareForm = () => {
    if (shell.root.dataset.shared) return;
    panel.replaceChildren(
      el("label", { class: "sim-watch-name" }, "Your name for viewers ", nameInput),
      el("button", { type: "button", "data-action": "start-sharing", onclick: () => {
        shell.command({ type: "share", name: nameInput.value.trim() });
      } }, "Start sharing"),
      el("p", { class: "sim-note", text: "Viewers see what you train, as you train it; they cannot change it, but each may fork a copy of their own." }));
  };
  let count = null;
  const showShared = (msg) => {
    shell.root.dataset.shared = msg.id;
    const link = watchLink(shell, msg.id);
    const linkInput = el("input", { type: "text", readonly: true, value: link, "data-watch": "link",
                                    "aria-label": "watch link", onfocus: (e) => e.target.select() });
    count = el("span", { "data-watch": "viewers", text: viewersText(msg.viewers) });
    panel.replaceChildren(
      el("p", { class: "sim-watch-live" }, el("strong", { text: `Live as ${msg.name}` }), " — ", count, " watching"),
      el("div", { class: "sim-watch-link" }, linkInput,
        el("button", { type: "button", "data-action": "copy-watch-link", onclick: () => {
          if (navigator.clipboard && window.isSecureContext) {
            navigator.clipboard.writeText(link).then(() => shell.notify("Watch link copied."), () => {});
          } else { linkInput.select(); shell.notify("Select the link and copy it."); }
        } }, "Copy")),
      el("p", { class: "sim-note" }, "Code: ", el("code", { "data-watch": "code", text: msg.id }),
        " — the share ends when you leave this page."));
    panel.hidden = false;
  };

  // ---------------------------------------------------------------- a viewer
  const id = new URLSearchParams(window.location.search).get(param);
  const banner = el("p", { class: "sim-watch-banner", "data-watch": "banner", role: "status" });
  const forkButton = el("button", { type: "button", "data-action": "fork", disabled: true,
    title: "train a copy of this model, from where it is now, in a session of your own",
    onclick: () => {
      forkButton.disabled = true;
      shell.clearError();
      shell.notify("Forking: copying the driver's model…");
      shell.socket.send({ type: "fork" });
    } }, "Fork");
  const lock = (locked) => {
    shell.root.dataset.watching = locked ? "1" : "";
    if (!locked) delete shell.root.dataset.watching;
    for (const input of shell.controls.form.elements) input.disabled = locked;
  };
  const watchHello = (w) => {
    shell.root.dataset.driver = w.driver;
    banner.replaceChildren("Watching ", el("strong", { "data-watch": "driver", text: w.driver }),
      ` live (${viewersText(w.viewers)}) — only ${w.driver} can change it; Fork to train a copy of your own. `, forkButton);
    forkButton.disabled = false;
    Object.assign(shell.values, w.config);
    shell.controls.set(shell.values);
    shell.status.textContent = "Watching: waiting for the next picture…";
  };
  const forked = (f) => { // this socket now drives a session of our own
    shell.socket.path = null;
    const url = new URL(window.location.href);
    url.searchParams.delete(param);
    window.history.replaceState(window.history.state, "", url);
    lock(false);
    banner.remove();
    Object.assign(shell.values, f.config);
    shell.controls.set(shell.values);
    shell.announce();
    shell.started = true;
    shell.root.dataset.forked = String(f.step);
    shell.notify(`Forked from ${f.from} at step ${f.step}: this copy is yours — press Play.`);
  };

  const handleClosed = shell.handleClosed.bind(shell);
  shell.handleClosed = (reason, code) => { // the driver's socket went: so did its share
    if (shell.root.dataset.shared) {
      delete shell.root.dataset.shared;
      count = null;
      panel.replaceChildren(el("p", { text: "Sharing ended with the connection: share again to get a new link." }));
    }
    handleClosed(reason, code);
  };

  shell.on("message", (msg) => {
    if (msg.type === "shared") showShared(msg);
    else if (msg.type === "viewers" && count) {
      count.textContent = viewersText(msg.viewers);
      shell.root.dataset.viewers = String(msg.viewers);
    } else if (msg.type === "hello" && msg.watch) watchHello(msg.watch);
    else if (msg.type === "hello" && msg.forked) forked(msg.forked);
    else if (msg.type === "settings" && shell.root.dataset.watching) { // the driver changed them
      Object.assign(shell.values, msg.config);
      shell.controls.set(shell.values);
    }
    else if (msg.type === "full" && msg.watching) {
      forkButton.disabled = false;
      shell.notify(`No free slot to fork into: ${msg.message}. Try Fork again in a moment.`);
    } else if (msg.type === "error" && shell.root.dataset.watching) forkButton.disabled = false;
    else if (msg.type === "closed" && shell.root.dataset.watching) {
      forkButton.disabled = true;
      banner.replaceChildren(msg.reason);
    }
  });

  if (id && !window.GENLAB_RECORDINGS) { // open the watch link: the driver's frames, at once
    lock(true);
    shell.root.insertBefore(banner, shell.body);
    banner.textContent = "Connecting to the shared simulation…";
    shell.socket.path = `/ws/watch/${encodeURIComponent(id)}`;
    shell.status.textContent = "Connecting…";
    shell.socket.connect(null);
  }
  return button;
}
