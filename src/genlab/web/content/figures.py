"""The lesson's figures, drawn as inline SVG. Curves are computed here (Gaussian densities, the
optimal discriminator, JSD vs distance), so every plotted shape is the formula it illustrates.

Colours come from classes (f-* fill, s-* stroke) styled in static/hub.css, never from inline
style attributes (the page's CSP forbids them). Each function returns (svg, caption).
"""

from __future__ import annotations

import math
import random

FONT = 15


def _svg(w: int, h: int, title: str, body: str) -> str:
    return (f'<svg viewBox="0 0 {w} {h}" role="img" aria-label="{title}" '
            f'xmlns="http://www.w3.org/2000/svg"><title>{title}</title>{body}</svg>')


def _t(x, y, s, cls="", anchor="middle", size=FONT) -> str:
    c = f' class="{cls}"' if cls else ""
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}"{c}>{s}</text>'


def _arrow(x1, y1, x2, y2, cls="s-ink", dash=False) -> str:
    d = ' stroke-dasharray="5 4"' if dash else ""
    return (f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" class="{cls}" '
            f'stroke-width="2" marker-end="url(#arrow)"{d}/>')


def _path(points, cls, width=2.5, fill="none", close=False) -> str:
    d = "M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in points) + (" Z" if close else "")
    f = f'class="{cls}"' if fill == "none" else f'class="{cls}"'
    extra = ' fill="none"' if fill == "none" else f' fill-opacity="{fill}"'
    return f'<path d="{d}" {f} stroke-width="{width}"{extra}/>'


def _line(x1, y1, x2, y2, cls, width=1.5, dash="") -> str:
    d = f' stroke-dasharray="{dash}"' if dash else ""
    return (f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" class="{cls}" '
            f'stroke-width="{width}"{d}/>')


def _circle(cx, cy, r, cls, ring=False) -> str:
    extra = ' fill="none" stroke-width="1.5"' if ring else ""
    return f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{r}" class="{cls}"{extra}/>'


def _dashed_arrow(d: str, cls="s-fake") -> str:
    return (f'<path d="{d}" class="{cls}" fill="none" stroke-width="1.8" stroke-dasharray="5 4" '
            f'marker-end="url(#arrow)"/>')


def _box(x, y, w, h, cls, label="", rx=6, size=FONT) -> str:
    out = f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" rx="{rx}" class="{cls}"/>'
    if label:
        out += _t(x + w / 2, y + h / 2 + size * 0.35, label, size=size)
    return out


def _normal(x, mu, sd):
    return math.exp(-0.5 * ((x - mu) / sd) ** 2) / (sd * math.sqrt(2 * math.pi))


def _blob(rng, cx, cy, sx, sy, n, cls, r=3.0) -> str:
    return "".join(f'<circle cx="{cx + rng.gauss(0, sx):.1f}" cy="{cy + rng.gauss(0, sy):.1f}" '
                   f'r="{r}" class="{cls}"/>' for _ in range(n))


def discriminative_vs_generative():
    rng = random.Random(1)
    body = ""
    for ox, label, gen in ((0, "discriminative: P(y | x)", False), (250, "generative: P(x)", True)):
        body += f'<rect x="{ox + 10}" y="30" width="220" height="190" rx="8" class="panel"/>'
        body += _t(ox + 120, 20, label, "b")
        if gen:
            for cx, cy, cls in ((80, 90, "s-real"), (160, 160, "s-fake")):
                for r in (14, 28, 42):
                    body += (f'<ellipse cx="{ox + cx}" cy="{cy}" rx="{r * 1.2:.0f}" ry="{r:.0f}" '
                             f'class="{cls}" fill="none" stroke-width="1.5" opacity="0.8"/>')
        else:
            body += _line(ox + 30, 210, ox + 215, 40, "s-ink", 2.5)
            body += _t(ox + 160, 118, "boundary", "muted", anchor="start", size=13)
        body += _blob(rng, ox + 80, 90, 18, 14, 18, "f-real")
        body += _blob(rng, ox + 160, 160, 18, 14, 18, "f-fake")
    body += _t(120, 240, "only where classes split", "muted", size=14)
    body += _t(370, 240, "where the data lives", "muted", size=14)
    return (_svg(490, 250, "Discriminative versus generative model", body),
            "A discriminative model learns only the boundary P(y | x); a generative model learns "
            "the density P(x) of the data itself, so it can say how typical a point is and draw "
            "new ones.")


def uses_of_a_density():
    rng = random.Random(2)
    body = ""
    panels = (("sampling", ""), ("interpolation", ""), ("anomaly", "detection"),
              ("conditional", "generation"))
    for i, (line1, line2) in enumerate(panels):
        ox = 10 + i * 120
        body += f'<rect x="{ox}" y="44" width="110" height="110" rx="8" class="panel"/>'
        body += _t(ox + 55, 16 if line2 else 34, line1, "b", size=14)
        if line2:
            body += _t(ox + 55, 34, line2, "b", size=14)
        cx, cy = ox + 55, 99
        for r in (14, 28, 42):
            body += (f'<ellipse cx="{cx}" cy="{cy}" rx="{r:.0f}" ry="{r * 0.8:.0f}" '
                     f'class="s-grid" fill="none" stroke-width="1.2"/>')
        if i == 0:
            body += _blob(rng, cx, cy, 14, 11, 9, "f-fake", 3.2)
        elif i == 1:
            a, b = (cx - 30, cy + 12), (cx + 28, cy - 14)
            body += _circle(*a, 4, "f-real") + _circle(*b, 4, "f-real")
            for k in range(1, 5):
                t = k / 5
                body += (f'<circle cx="{a[0] + t * (b[0] - a[0]):.1f}" cy="{a[1] + t * (b[1] - a[1]):.1f}" '
                         f'r="2.6" class="f-fake"/>')
        elif i == 2:
            body += _blob(rng, cx, cy, 12, 10, 10, "f-real", 2.6)
            body += f'<circle cx="{cx + 40}" cy="{cy - 36}" r="5" class="f-bad"/>'
            body += _t(cx + 22, cy - 40, "low p(x)", "bad", size=13, anchor="end")
        else:
            body += _blob(rng, cx - 22, cy, 8, 8, 7, "f-real", 2.6)
            body += _blob(rng, cx + 22, cy, 8, 8, 7, "f-enc", 2.6)
            body += _t(cx - 22, cy + 34, "y=0", "muted", size=14)
            body += _t(cx + 22, cy + 34, "y=1", "muted", size=14)
    return (_svg(490, 162, "Four things a learned distribution gives", body),
            "What a learned distribution gives: new samples x ~ p(x); smooth paths between two "
            "data points through the latent space; a low p(x) that flags an anomaly; and, with "
            "labels, samples from p(x | y).")


def autoencoder():
    body = _box(10, 40, 60, 140, "f-real-soft s-real", "x")
    body += '<path d="M90,40 L190,85 L190,135 L90,180 Z" class="f-enc-soft s-enc" stroke-width="2"/>'
    body += _t(140, 115, "encoder")
    body += _box(205, 85, 40, 50, "f-latent s-ink", "z")
    body += '<path d="M260,85 L360,40 L360,180 L260,135 Z" class="f-dec-soft s-dec" stroke-width="2"/>'
    body += _t(310, 115, "decoder")
    body += _box(380, 40, 60, 140, "f-fake-soft s-fake", "x̂")
    body += _t(225, 205, "bottleneck: dim z ≪ dim x", "muted", size=14)
    body += _t(225, 22, "loss = −log p(x | x̂)   (reconstruction only)", "muted", size=14)
    return (_svg(450, 215, "Autoencoder", body),
            "An autoencoder compresses x into a short code z and rebuilds it. The only training "
            "signal is the reconstruction error, so nothing says how codes should be arranged.")


def latent_ae_vs_vae():
    rng = random.Random(3)
    body = ""
    classes = ("f-real", "f-fake", "f-enc", "f-dec")
    body += _t(120, 18, "autoencoder: holes", "b")
    body += '<rect x="10" y="28" width="220" height="200" rx="8" class="panel"/>'
    for (cx, cy), cls in zip(((50, 60), (190, 80), (70, 190), (180, 195)), classes):
        body += _blob(rng, cx, cy, 9, 5, 10, cls, 2.8)
    body += _t(122, 138, "?", "bad", size=26)
    body += _t(122, 160, "decode here: garbage", "muted", size=14)
    body += _t(370, 18, "VAE: packed clouds", "b")
    body += '<rect x="260" y="28" width="220" height="200" rx="8" class="panel"/>'
    body += ('<circle cx="370" cy="128" r="80" class="s-grid" fill="none" stroke-width="1.5" '
             'stroke-dasharray="4 4"/>')
    body += _t(370, 222, "prior N(0, I)", "muted", size=14)
    for (cx, cy), cls in zip(((340, 100), (400, 105), (345, 155), (400, 152)), classes):
        body += (f'<ellipse cx="{cx}" cy="{cy}" rx="30" ry="24" class="{cls}" opacity="0.18"/>')
        body += _blob(rng, cx, cy, 12, 10, 10, cls, 2.8)
    return (_svg(490, 235, "Latent space of an autoencoder versus a VAE", body),
            "Left: an autoencoder may place classes on scattered islands; a point between them "
            "was never decoded in training. Right: a VAE encodes each x as a Gaussian cloud and the "
            "KL term pulls the clouds towards the prior, so the space between codes is covered.")


def reparameterization():
    body = _t(110, 18, "sampling: blocked", "b")
    body += _box(20, 40, 80, 36, "f-enc-soft s-enc", "μ, σ")
    body += _box(40, 120, 140, 44, "f-bad-soft s-bad", "z ~ N(μ, σ²)")
    body += _arrow(60, 76, 90, 118)
    body += _arrow(110, 210, 110, 168, "s-bad", dash=True)
    body += _t(110, 228, "∂z/∂μ ?  blocked", "bad", size=14)
    body += _t(375, 18, "reparameterized", "b")
    body += _box(270, 40, 70, 36, "f-enc-soft s-enc", "μ")
    body += _box(350, 40, 50, 36, "f-enc-soft s-enc", "σ")
    body += _box(410, 40, 70, 36, "f-latent s-ink", "ε")
    body += _t(445, 92, "ε ~ N(0, I)", "muted", size=14)
    body += _box(320, 120, 110, 44, "f-real-soft s-real", "z = μ + σ⊙ε")
    body += _arrow(305, 76, 345, 118)
    body += _arrow(375, 76, 375, 118)
    body += _arrow(440, 98, 410, 118)
    body += _arrow(360, 210, 360, 168, "s-real", dash=True)
    body += _t(375, 228, "∂z/∂μ = 1,  ∂z/∂σ = ε", "good", size=14)
    return (_svg(490, 240, "The reparameterization trick", body),
            "Moving the randomness into an input ε with no parameters turns z into a "
            "differentiable function of μ and σ: the gradient of the loss reaches the encoder.")


def elbo_decomposition():
    body = _t(60, 24, "log p(x)", "b", anchor="start")
    body += _box(150, 10, 320, 26, "f-latent s-ink")
    body += _t(60, 70, "=", "b", anchor="start")
    body += _box(150, 52, 240, 26, "f-real-soft s-real", "ELBO")
    body += _box(390, 52, 80, 26, "f-bad-soft s-bad", "gap", size=14)
    body += _t(475, 98, "KL(q(z|x) ‖ p(z|x)) ≥ 0", "bad", anchor="end", size=14)
    body += _t(60, 140, "ELBO", "b", anchor="start")
    body += _box(150, 124, 290, 26, "f-enc-soft s-enc", "E_q[log p(x|z)]  reconstruction")
    body += _box(390, 156, 50, 26, "f-fake-soft s-fake")
    body += _t(475, 202, "− KL(q(z|x) ‖ p(z))", "fake", anchor="end", size=14)
    body += '<line x1="390" y1="124" x2="390" y2="182" class="s-ink" stroke-dasharray="3 3"/>'
    return (_svg(490, 210, "ELBO decomposition", body),
            "log p(x) splits into the ELBO and a gap, the KL from the encoder to the true "
            "posterior. The ELBO itself is a reconstruction term minus a KL to the prior; raising "
            "it either improves the model or closes the gap.")


def _plot_frame(x0, y0, w, h, xlabel=""):
    out = (f'<line x1="{x0}" y1="{y0 + h}" x2="{x0 + w}" y2="{y0 + h}" class="s-ink" stroke-width="1.2"/>'
           f'<line x1="{x0}" y1="{y0}" x2="{x0}" y2="{y0 + h}" class="s-ink" stroke-width="1.2"/>')
    if xlabel:
        out += _t(x0 + w / 2, y0 + h + 22, xlabel, "muted", size=14)
    return out


def kl_gaussians():
    mu, sd = 1.5, 0.6
    kl = 0.5 * (mu * mu + sd * sd - 1 - math.log(sd * sd))
    x0, y0, w, h = 30, 50, 430, 135
    sx = lambda x: x0 + (x + 3.5) / 7 * w  # noqa: E731
    sy = lambda p: y0 + h - p / 0.75 * h  # noqa: E731
    xs = [-3.5 + 7 * i / 200 for i in range(201)]
    body = _plot_frame(x0, y0, w, h, "z")
    prior = [(sx(x), sy(_normal(x, 0, 1))) for x in xs]
    post = [(sx(x), sy(_normal(x, mu, sd))) for x in xs]
    body += _path(prior + [(sx(3.5), sy(0)), (sx(-3.5), sy(0))], "f-grid s-muted", 2, fill=0.35, close=True)
    body += _path(post + [(sx(3.5), sy(0)), (sx(-3.5), sy(0))], "f-enc s-enc", 2.5, fill=0.3, close=True)
    body += _t(sx(-2.4), sy(0.2), "p(z) = N(0, 1)", "muted", size=14)
    body += _t(x0, 40, f"q(z|x) = N({mu}, {sd}²)", "enc", anchor="start", size=14)
    body += _t(x0, 16, f"KL = ½(μ² + σ² − 1 − log σ²) = {kl:.2f} nats", "b", anchor="start", size=14)
    return (_svg(490, 230, "KL divergence between two Gaussians", body),
            f"The KL term in closed form, per latent dimension: here μ = {mu}, σ = {sd} cost "
            f"{kl:.2f} nats. It is zero only for μ = 0, σ = 1, and grows with both the shift and "
            "the squeeze of q.")


def beta_tradeoff():
    x0, y0, w, h = 60, 15, 380, 170
    body = _plot_frame(x0, y0, w, h, "rate: KL(q(z|x) ‖ p(z))  (nats)")
    body += (f'<text transform="translate({x0 - 14},{y0 + h / 2}) rotate(-90)" text-anchor="middle" '
             f'font-size="14" class="muted">distortion</text>')
    curve = lambda r: (x0 + 8 + (w - 16) * r, y0 + h - 10 - (h - 20) * math.exp(-3.2 * r))  # noqa: E731
    body += _path([curve(i / 100) for i in range(101)], "s-enc", 2.5)
    for r, label in ((0.08, "β = 8: compressed code"), (0.3, "β = 1: the ELBO"),
                     (0.75, "β = 0.1: sharp x̂")):
        x, y = curve(r)
        body += f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5" class="f-fake"/>'
        right = r > 0.5
        body += _t(x + (-4 if right else 10), y + (24 if right else -12), label, "fake",
                   anchor="end" if right else "start", size=14)
    return (_svg(470, 215, "beta trades rate for distortion", body),
            "β picks a point on the rate-distortion curve: large β buys a code that carries few "
            "nats (close to the factorized prior), small β buys reconstructions.")


def minimax_game():
    body = _box(10, 30, 60, 40, "f-latent s-ink", "z")
    body += _t(40, 88, "z ~ N(0, I)", "muted", size=14)
    body += _box(100, 25, 90, 50, "f-fake-soft s-fake", "G")
    body += _box(220, 25, 70, 50, "f-fake-soft s-fake", "G(z)")
    body += _box(220, 125, 70, 50, "f-real-soft s-real", "x")
    body += _t(255, 195, "x ~ p_data", "muted", size=14)
    body += _box(330, 70, 80, 60, "f-enc-soft s-enc", "D")
    body += _t(450, 95, "D(·) =", size=14)
    body += _t(450, 112, "P(real)", size=14)
    body += _arrow(70, 50, 98, 50) + _arrow(190, 50, 218, 50)
    body += _arrow(290, 50, 328, 90) + _arrow(290, 150, 328, 112) + _arrow(410, 100, 420, 100)
    body += _t(220, 222, "D: maximize log D(x) + log(1 − D(G(z)))", "enc", size=14)
    body += _t(220, 242, "G: make D(G(z)) → 1 (fool D)", "fake", size=14)
    body += _dashed_arrow("M370,68 C370,-2 145,-2 145,22")
    return (_svg(490, 255, "The GAN minimax game", body),
            "Two players: D learns to tell data from samples; G, fed noise, learns from D's "
            "gradient (dashed) to produce samples D accepts.")


def optimal_discriminator():
    x0, y0, w, h = 40, 20, 420, 170
    sx = lambda x: x0 + (x + 4) / 8 * w  # noqa: E731
    xs = [-4 + 8 * i / 240 for i in range(241)]
    pd = [_normal(x, -1, 0.8) for x in xs]
    pg = [_normal(x, 1.2, 1.0) for x in xs]
    peak = 0.62
    sy = lambda p: y0 + h - p / peak * h  # noqa: E731
    body = _plot_frame(x0, y0, w, h, "x")
    body += _path([(sx(x), sy(p)) for x, p in zip(xs, pd)], "s-real", 2.5)
    body += _path([(sx(x), sy(p)) for x, p in zip(xs, pg)], "s-fake", 2.5)
    ds = [(sx(x), y0 + h - a / (a + b) * h) for x, a, b in zip(xs, pd, pg)]
    body += _path(ds, "s-enc", 3)
    body += _line(x0, y0 + h / 2, x0 + w, y0 + h / 2, "s-grid", 1, "4 4")
    body += _t(x0 - 6, y0 + h / 2 + 4, "½", "muted", anchor="end", size=14)
    body += _t(x0 - 6, y0 + 8, "1", "muted", anchor="end", size=14)
    body += _t(sx(-3.2), sy(0.44), "D*(x)", "enc", anchor="start", size=14)
    # left of p_data's rising flank, below the ½ line: clear of D*(x), which is ≈ 1 there
    body += _t(sx(-2.15), sy(0.22), "p_data", "real", anchor="end", size=14)
    body += _t(sx(2.4), sy(0.38), "p_g", "fake", size=14)
    return (_svg(490, 220, "The optimal discriminator", body),
            "For a fixed G, D*(x) = p_data(x) / (p_data(x) + p_g(x)), computed here for two "
            "Gaussians: near 1 where data dominates, ½ where the densities are equal, near 0 "
            "where only fakes live.")


def jsd_saturation():
    def jsd(d):
        xs = [-8 + (16 + d) * i / 800 for i in range(801)]
        dx = xs[1] - xs[0]
        total = 0.0
        for x in xs:
            p, q = _normal(x, 0, 0.5), _normal(x, d, 0.5)
            m = 0.5 * (p + q)
            if p > 1e-300:
                total += 0.5 * p * math.log(p / m) * dx
            if q > 1e-300:
                total += 0.5 * q * math.log(q / m) * dx
        return total
    x0, y0, w, h = 50, 20, 400, 160
    ds = [6 * i / 60 for i in range(61)]
    sx = lambda d: x0 + d / 6 * w  # noqa: E731
    sy = lambda v: y0 + h - v / 3 * h  # noqa: E731
    body = _plot_frame(x0, y0, w, h, "distance between p_data and p_g")
    body += _path([(sx(d), sy(jsd(d))) for d in ds], "s-fake", 3)
    body += _path([(sx(d), sy(d / 2)) for d in ds], "s-real", 2.5)
    body += _line(x0, sy(math.log(2)), x0 + w, sy(math.log(2)), "s-grid", 1, "4 4")
    body += _t(x0 - 6, sy(math.log(2)) + 4, "log 2", "muted", anchor="end", size=14)
    body += _t(sx(4.5), sy(math.log(2)) + 18, "JSD: flat, no gradient", "fake", size=14)
    body += _t(sx(0.25), sy(1.25), "W₁ (×½): keeps growing", "real", anchor="start", size=14)
    return (_svg(490, 215, "JSD saturates, Wasserstein distance does not", body),
            "JSD between two narrow Gaussians (σ = 0.5) as they move apart, computed numerically: "
            "once the supports barely overlap it sits at log 2 and gives the generator no "
            "direction. The Wasserstein-1 distance grows linearly.")


def mode_collapse():
    body = ""
    for ox, title, collapsed in ((0, "target: ring of 8", False), (250, "collapsed G: 2 of 8", True)):
        body += f'<rect x="{ox + 10}" y="28" width="220" height="200" rx="8" class="panel"/>'
        body += _t(ox + 120, 18, title, "b")
        cx, cy = ox + 120, 128
        rng = random.Random(4)
        for k in range(8):
            a = 2 * math.pi * k / 8
            mx, my = cx + 72 * math.cos(a), cy + 72 * math.sin(a)
            body += _circle(mx, my, 11, "s-real", ring=True)
            if not collapsed:
                body += _blob(rng, mx, my, 3, 3, 6, "f-real", 2.2)
            elif k in (0, 1):
                body += _blob(rng, mx, my, 3, 3, 22, "f-fake", 2.2)
    body += _dashed_arrow("M440,150 C470,120 470,80 430,60")
    body += _t(245, 244, "when D catches up, G hops to other modes", "muted", size=14)
    return (_svg(490, 250, "Mode collapse on a ring of 8 Gaussians", body),
            "Mode collapse: every sample is sharp and sits on a real mode, but the generator "
            "covers 2 of 8. When D catches up, G tends to jump to other modes rather than spread.")


def gradient_penalty_line():
    body = '<rect x="10" y="10" width="470" height="195" rx="8" class="panel"/>'
    x, y, xf, yf = 70, 150, 410, 90
    body += _line(x, y, xf, yf, "s-muted", 2, "6 5")
    body += _circle(x, y, 8, "f-real") + _t(x, y + 28, "x ~ p_data", "real", size=14)
    body += _circle(xf, yf, 8, "f-fake") + _t(xf, yf - 16, "x̃ = G(z)", "fake", size=14)
    e = 0.35
    hx, hy = e * x + (1 - e) * xf, e * y + (1 - e) * yf
    body += f'<circle cx="{hx:.1f}" cy="{hy:.1f}" r="7" class="f-enc"/>'
    body += _t(hx - 20, hy + 50, "x̂ = εx + (1 − ε)x̃,  ε ~ U[0, 1]", "enc", size=14)
    body += _arrow(hx, hy, hx + 34, hy - 62, "s-enc")
    body += _t(hx + 40, hy - 66, "‖∇D(x̂)‖₂ → 1", "enc", anchor="start", size=14)
    return (_svg(490, 215, "Where WGAN-GP penalizes the gradient", body),
            "WGAN-GP samples x̂ uniformly on the segment between a real and a fake point and "
            "penalizes (‖∇D(x̂)‖₂ − 1)², a soft 1-Lipschitz constraint on the critic.")


def dcgan_upsampling():
    stages = [("z", 1, 100), ("4×4", 4, 512), ("8×8", 8, 256), ("16×16", 16, 128),
              ("32×32", 32, 64), ("64×64", 64, 3)]
    body, x = "", 26
    for i, (label, size, ch) in enumerate(stages):
        side = 10 + size * 1.1
        depth = 6 + math.log2(ch) * 3.2
        top = 120 - side / 2
        cls = ("f-latent s-ink" if i == 0 else
               "f-fake-soft s-fake" if i == len(stages) - 1 else "f-dec-soft s-dec")
        body += (f'<path d="M{x + depth},{top - depth * 0.6:.1f} l{side:.1f},0 l0,{side:.1f} '
                 f'l{-depth},{depth * 0.6:.1f} l0,{-side:.1f} Z" class="{cls}" stroke-width="1.2" '
                 'opacity="0.55"/>')
        body += _box(x, top, side, side, cls, rx=2)
        body += _t(x + side / 2, 212, label, size=14)
        body += _t(x + side / 2, 228, f"{ch} ch", "muted", size=14)
        nx = x + side + depth + 16
        if i < len(stages) - 1:
            body += _arrow(x + side + depth * 0.5 + 2, 120, nx - 2, 120, "s-muted")
        x = nx
    body += _t(245, 18, "each ConvTranspose2d(k=4, s=2, p=1) doubles H and W", "muted", size=14)
    return (_svg(490, 240, "DCGAN generator upsampling", body),
            "The DCGAN generator (Radford et al. 2016): z is projected to 4×4×512, then each "
            "stride-2 transposed convolution doubles the resolution and halves the channels, "
            "ending in tanh at 64×64×3.")


FIGURES = {
    "disc_vs_gen": discriminative_vs_generative,
    "uses": uses_of_a_density,
    "autoencoder": autoencoder,
    "latent_space": latent_ae_vs_vae,
    "reparam": reparameterization,
    "elbo": elbo_decomposition,
    "kl": kl_gaussians,
    "beta": beta_tradeoff,
    "minimax": minimax_game,
    "dstar": optimal_discriminator,
    "jsd": jsd_saturation,
    "mode_collapse": mode_collapse,
    "wgan_gp": gradient_penalty_line,
    "dcgan": dcgan_upsampling,
}

ARROW_DEFS = ('<svg class="defs" aria-hidden="true" width="0" height="0"><defs>'
              '<marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
              'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
              'class="f-ink"/></marker></defs></svg>')
