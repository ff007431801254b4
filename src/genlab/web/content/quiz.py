"""The knowledge check: questions per concept, each with an explanation of the right answer,
the concept it checks and the lesson section to reread (`section`: the id of an <h3> in
content/s*_*.html). Served as HTML by `genlab.web.lesson` and as JSON at /api/quiz; answers
are checked in the browser and kept in localStorage only.

Options carry stable ids (`("bottleneck", "A code with …")`): the browser stores the id of
the chosen option, never its position, so a learner's progress survives any shuffle and any
edit that keeps the ids. `answer` is the id of the right option.

Writing options: every distractor is a misconception learners really hold, as long, as
specific and as carefully worded as the answer (tests/web/test_quiz.py measures how often the
answer is the longest option, on the quiz as served). Questions with `sim` need the named
simulation; their right answer is what the simulation showed when run with the same settings
(the run is noted beside the question).
"""

from __future__ import annotations

import random

CONCEPTS = ("Autoencoder", "ELBO", "Reparameterization", "Latent Space", "GAN", "DCGAN",
            "Mode Collapse")

QUESTIONS: list[dict] = [
    # ------------------------------------------------------------------ Autoencoder
    dict(
        id="ae-bottleneck", concept="Autoencoder", section="autoencoder",
        question="What forces a plain autoencoder to learn a useful code rather than the identity map?",
        options=[
            ("kl", "A KL term in its loss that pulls every code towards the prior N(0, I)"),
            ("noise", "Sampling its code as z = μ + σ ⊙ ε, so the input cannot be copied exactly"),
            ("bottleneck", "A code with far fewer dimensions than x, so only what matters gets through"),
            ("depth", "An encoder too deep to represent the identity map between x and x̂"),
        ],
        answer="bottleneck",
        explanation="With a code much smaller than x, the encoder must keep only what the decoder "
                    "needs to rebuild x. A plain autoencoder has no KL term and no sampling (those "
                    "make it a VAE); the reconstruction loss through a narrow bottleneck is all it "
                    "has. Depth does not stop a network from computing the identity.",
    ),
    dict(
        id="ae-sampling", concept="Autoencoder", section="autoencoder",
        question="You decode a random point drawn near the centre of a trained plain "
                 "autoencoder's latent space. What do you usually get?",
        options=[
            ("typical", "A typical digit: the reconstruction loss has also fitted the density p(x)"),
            ("mean", "The average training image, because the centre is the mean of the codes"),
            ("nearest", "The training digit with the nearest code: the decoder snaps to stored codes"),
            ("hole", "Often no digit at all: no training code was ever placed near that point"),
        ],
        answer="hole",
        explanation="An autoencoder is trained only on the codes of training points. Those codes "
                    "can sit in scattered islands with gaps between them; a decoder evaluated in a "
                    "gap was never trained there. It models no density, and a nonlinear decoder "
                    "neither averages nor snaps to stored codes.",
    ),
    dict(
        id="ae-codes-sim", concept="Autoencoder", section="latent-space", sim="vae",
        question="In the VAE lab, train 1,500 steps with the model set to VAE, then switch it to "
                 "the plain autoencoder and train 1,500 steps. Where do the autoencoder's test "
                 "codes lie, compared with the VAE's?",
        # Run (OMP_NUM_THREADS=1, VaeLab, lab defaults, seeds 0 and 1): VAE codes std ≈ 1.2 per
        # axis, 7 % beyond radius 3; AE codes std ≈ 4–6, about half beyond radius 3, the farthest at 19–27.
        options=[
            ("wide", "Spread far wider, many well beyond radius 3, with no pull towards N(0, I)"),
            ("disc", "Packed tighter, inside the unit disc: an autoencoder's codes must stay small"),
            ("same", "In the same N(0, I)-shaped cloud: both models minimize the same reconstruction"),
            ("point", "On one point: without sampling noise every digit is mapped to the same code"),
        ],
        answer="wide",
        explanation="Nothing in the autoencoder's loss says where codes go, so they spread over "
                    "whatever scale the encoder drifts to (in our runs a spread of 4–6 per axis, "
                    "against about 1.2 for the VAE, whose KL term pulls every q(z|x) towards "
                    "N(0, I)). A sample from N(0, I) then lands where the autoencoder's decoder "
                    "has seen few or no codes.",
    ),
    # ------------------------------------------------------------------ ELBO
    dict(
        id="elbo-gap", concept="ELBO", section="elbo",
        question="log p(x) − ELBO(x) equals which quantity?",
        options=[
            ("kl-prior", "KL(q(z|x) ‖ p(z)), the KL the loss charges for each code"),
            ("recon", "E_q[−log p(x|z)], the decoder's expected reconstruction error"),
            ("kl-reverse", "KL(p(z|x) ‖ q(z|x)), from the true posterior to the encoder"),
            ("kl-post", "KL(q(z|x) ‖ p(z|x)), from the encoder to the true posterior"),
        ],
        answer="kl-post",
        explanation="log p(x) = ELBO(x) + KL(q(z|x) ‖ p(z|x)). The KL is ≥ 0, so the ELBO is a "
                    "lower bound, tight exactly when q(z|x) equals the true posterior. The order "
                    "matters: the expectation is under q, so it is KL(q ‖ p(z|x)). KL(q(z|x) ‖ p(z)) "
                    "is a term inside the ELBO, not the gap.",
    ),
    dict(
        id="elbo-terms", concept="ELBO", section="elbo",
        question="Which expression is the ELBO that a VAE maximizes?",
        options=[
            ("plus", "E_q[log p(x|z)] + KL(q(z|x) ‖ p(z))"),
            ("minus", "E_q[log p(x|z)] − KL(q(z|x) ‖ p(z))"),
            ("reverse", "E_q[log p(x|z)] − KL(p(z) ‖ q(z|x))"),
            ("posterior", "E_q[log p(x|z)] − KL(q(z|x) ‖ p(z|x))"),
        ],
        answer="minus",
        explanation="Expected reconstruction log-likelihood minus the KL from the encoder's "
                    "distribution to the prior: with p(x, z) = p(x|z) p(z), "
                    "E_q[log p(x, z) − log q(z|x)] splits into exactly these two terms. The loss "
                    "genlab minimizes is its negative (genlab.losses.vae_loss).",
    ),
    dict(
        id="kl-zero", concept="ELBO", section="kl-term",
        question="Per latent dimension the KL term is −½(1 + log σ² − μ² − σ²). When is it zero?",
        options=[
            ("prior", "Only at μ = 0 and σ = 1, where the code says nothing about x"),
            ("sigma0", "When σ = 0: a deterministic code has no spread to pay for"),
            ("mu0", "When μ = 0, whatever σ is: the prior is centred at the origin"),
            ("never", "Never: a KL between two Gaussians is always strictly positive"),
        ],
        answer="prior",
        explanation="The KL vanishes only when q(z|x) equals the prior N(0, 1), i.e. μ = 0 and "
                    "σ = 1. As σ → 0 the term −log σ² grows without bound, so a deterministic code "
                    "is infinitely expensive; with μ = 0 and σ ≠ 1 it is still positive.",
    ),
    dict(
        id="beta-vae", concept="ELBO", section="beta-vae",
        question="In a β-VAE with β > 1, what do you trade for what?",
        options=[
            ("recon", "Worse reconstructions for codes that carry less information about x"),
            ("sharper", "Codes further from the prior for sharper reconstructions of each x"),
            ("tighter", "A tighter bound: the β-weighted objective is closer to log p(x) than the ELBO"),
            ("nothing", "Nothing: β only rescales the loss, so the optimum does not move"),
        ],
        answer="recon",
        explanation="β multiplies the KL term only. Above 1 it squeezes the information the code "
                    "may carry: reconstructions get worse, and the independent-Gaussian prior "
                    "favours codes whose dimensions match separate factors (Higgins et al. 2017). "
                    "Because KL ≥ 0, the β > 1 objective is below the ELBO: a looser bound.",
    ),
    dict(
        id="beta-sim", concept="ELBO", section="beta-vae", sim="vae",
        question="In the VAE lab, train 1,500 steps at β = 1, then reset and train 1,500 steps "
                 "at β = 10. What do the KL and −log p(x|z) readouts show?",
        # Run (OMP_NUM_THREADS=1, VaeLab, lab defaults: binarized digits, seeds 0 and 1, mean
        # of the last 50 of 1,500 steps): β = 1: KL ≈ 6.1 nats, −log p(x|z) ≈ 142–143;
        # β = 10: KL ≈ 2.1–2.2, −log p(x|z) ≈ 168–169.
        options=[
            ("kl-up", "KL rises and −log p(x|z) falls: the stronger KL term sharpens the decoder"),
            ("both-down", "Both fall: a larger β makes the whole objective easier to minimize"),
            ("same", "Both stay put: β scales the loss, and the optimizer cancels the scale"),
            ("trade", "KL falls (to about a third) while −log p(x|z) rises: worse reconstructions"),
        ],
        answer="trade",
        explanation="β = 10 makes each nat of KL ten times as expensive, so the encoder keeps "
                    "less information (in our runs KL ≈ 6 → 2 nats) and the decoder "
                    "reconstructs worse (−log p(x|z) ≈ 142 → 168). That is the rate–distortion "
                    "trade; pushed further it ends in posterior collapse, KL → 0.",
    ),
    # ------------------------------------------------------------------ Reparameterization
    dict(
        id="reparam-why", concept="Reparameterization", section="reparameterization",
        question="Why write z = μ + σ ⊙ ε with ε ~ N(0, I) instead of sampling z ~ N(μ, σ²) directly?",
        options=[
            ("grad", "ε carries no parameters, so z is a differentiable function of μ and σ"),
            ("faster", "Drawing from N(μ, σ²) directly is too slow to do once per example"),
            ("prior", "It pulls q(z|x) towards the prior, which is what keeps the KL term small"),
            ("exact", "It takes the sampling noise out of training, so the gradient is exact"),
        ],
        answer="grad",
        explanation="A sampling node blocks backpropagation: d(sample)/dμ is undefined. Written as "
                    "a deterministic function of (μ, σ) and an outside noise ε, z is differentiable "
                    "in μ and σ. The gradient is still a Monte-Carlo estimate (one ε per step), "
                    "just a low-variance one; the KL term does the pulling towards the prior.",
    ),
    dict(
        id="reparam-logvar", concept="Reparameterization", section="reparameterization",
        question="The encoder outputs log σ² rather than σ. With logvar = log σ², which is the "
                 "right sample?",
        options=[
            ("softplus", "z = μ + log(1 + exp(logvar)) ⊙ ε"),
            ("var", "z = μ + exp(logvar) ⊙ ε"),
            ("half", "z = μ + exp(logvar / 2) ⊙ ε"),
            ("raw", "z = μ + logvar ⊙ ε"),
        ],
        answer="half",
        explanation="σ = exp(½ log σ²). Predicting log σ² keeps σ positive without a constraint and "
                    "is numerically stable; exp(logvar) would be the variance, not the standard "
                    "deviation, and softplus(logvar) is some positive number, not σ.",
    ),
    # ------------------------------------------------------------------ Latent Space
    dict(
        id="latent-kl", concept="Latent Space", section="latent-space",
        question="Why is the latent space of a VAE better for interpolation than a plain "
                 "autoencoder's?",
        options=[
            ("dims", "It has more dimensions, so a path between two codes has room to pass"),
            ("clouds", "Codes are noisy clouds packed around N(0, I), so few gaps stay untrained"),
            ("paths", "Its decoder is also trained on straight paths between pairs of codes"),
            ("determ", "Its codes are deterministic, so each input lands on one fixed point"),
        ],
        answer="clouds",
        explanation="Each training point is encoded as a small cloud, not a point, and the KL term "
                    "pulls the clouds together towards the prior. The space between codes is "
                    "covered during training, so a path between two codes stays on decodable "
                    "ground. No path is trained explicitly, and it is the autoencoder whose codes "
                    "are deterministic.",
    ),
    dict(
        id="latent-slerp", concept="Latent Space", section="latent-space",
        question="For a 128-dimensional Gaussian latent, why do people interpolate with slerp "
                 "rather than a straight line?",
        options=[
            ("cube", "Slerp keeps every point inside the unit cube, where the decoder trained"),
            ("larger", "A straight line's midpoint has a larger norm than its ends: the tails"),
            ("shell", "N(0, I) samples lie near radius √d; a line's midpoint falls inside it"),
            ("origin", "Likely codes lie near the origin, and slerp passes closer to it"),
        ],
        answer="shell",
        explanation="In high dimension almost all the mass of N(0, I) lies in a thin shell of "
                    "radius ≈ √d. The midpoint of two such points has norm ≈ √(d/2), smaller, "
                    "where the decoder saw almost no codes; slerp stays on the shell. The density "
                    "peaks at the origin, but almost no samples lie near it.",
    ),
    # ------------------------------------------------------------------ GAN
    dict(
        id="gan-dstar", concept="GAN", section="nash",
        question="For a fixed generator, the optimal discriminator is D*(x) = ?",
        options=[
            ("half", "½ at every x, whatever the generator is"),
            ("pg", "p_g(x) / (p_data(x) + p_g(x))"),
            ("diff", "p_data(x) − p_g(x), clipped to [0, 1]"),
            ("pdata", "p_data(x) / (p_data(x) + p_g(x))"),
        ],
        answer="pdata",
        explanation="Maximizing p_data log D + p_g log(1 − D) pointwise gives "
                    "D* = p_data / (p_data + p_g). It equals ½ everywhere only at the equilibrium "
                    "p_g = p_data, where the value of the game is −log 4.",
    ),
    dict(
        id="gan-jsd", concept="GAN", section="nash",
        question="With the optimal discriminator plugged in, what does the minimax generator "
                 "objective C(G) equal?",
        options=[
            ("wasserstein", "The Wasserstein-1 distance W(p_data, p_g)"),
            ("jsd", "−log 4 + 2 · JSD(p_data ‖ p_g)"),
            ("sign", "log 4 − 2 · JSD(p_data ‖ p_g)"),
            ("kl", "−log 4 + KL(p_g ‖ p_data), a reverse KL"),
        ],
        answer="jsd",
        explanation="C(G) = −log 4 + 2·JSD(p_data ‖ p_g), minimized (at −log 4) exactly when "
                    "p_g = p_data. JSD saturates at log 2 when the supports do not overlap, which "
                    "is why the original loss gives vanishing gradients early in training; the "
                    "Wasserstein distance is what WGAN's critic estimates instead.",
    ),
    dict(
        id="gan-nash", concept="GAN", section="nash",
        question="At the Nash equilibrium of the minimax game, what holds?",
        options=[
            ("log4", "p_g = p_data and D(x) = ½ everywhere; the value of the game is −log 4"),
            ("value0", "p_g = p_data and D(x) = ½ everywhere; the value of the game is 0"),
            ("dwins", "D(x) = 1 on real data and 0 on fakes; the value of the game is 0"),
            ("argmax", "G outputs only the single most likely training point, and D(x) = ½ there"),
        ],
        answer="log4",
        explanation="JSD ≥ 0 with equality iff p_g = p_data, so the equilibrium is p_g = p_data, "
                    "D* = ½ everywhere, and V = log ½ + log ½ = −log 4. A discriminator that "
                    "separates real from fake perfectly means G has not reached it.",
    ),
    dict(
        id="gan-nonsat", concept="GAN", section="gan",
        question="Early in training D rejects every fake confidently. Which generator loss still "
                 "gives strong gradients?",
        options=[
            ("minimax", "Minimize log(1 − D(G(z))), the objective that the game defines"),
            ("flip", "Maximize log(1 − D(G(z))), the same game with its sign flipped"),
            ("nonsat", "Minimize −log D(G(z)), which is steepest where D(G(z)) is near 0"),
            ("real", "Minimize D(x) on real x instead, so that fakes look better by contrast"),
        ],
        answer="nonsat",
        explanation="When D(G(z)) ≈ 0, log(1 − D) is flat, so its gradient vanishes. −log D(G(z)) "
                    "has the same fixed point but is steep exactly there (Goodfellow et al. 2014, "
                    "Sec. 3); it is genlab's default 'non-saturating' loss. Maximizing "
                    "log(1 − D(G(z))) would make fakes worse, and G cannot change D(x) on real x.",
    ),
    # ------------------------------------------------------------------ DCGAN
    dict(
        id="dcgan-up", concept="DCGAN", section="dcgan",
        question="How does the DCGAN generator grow a 100-d noise vector into an image?",
        options=[
            ("fc", "One fully connected layer from z to every output pixel, followed by tanh"),
            ("unpool", "Max-unpooling layers that put each value back where pooling found it"),
            ("nearest", "Fixed nearest-neighbour upsampling, with no learned weights at all"),
            ("convt", "Stride-2 transposed convolutions, each doubling the height and width"),
        ],
        answer="convt",
        explanation="DCGAN (Radford et al. 2016) projects z to a small 4×4 map, then each "
                    "stride-2 ConvTranspose2d doubles height and width while halving the channels "
                    "(4 → 8 → 16 → 32 → 64). The discriminator mirrors it with strided "
                    "convolutions and LeakyReLU, with no pooling.",
    ),
    dict(
        id="dcgan-bn", concept="DCGAN", section="dcgan",
        question="Which DCGAN guideline is right?",
        options=[
            ("pool", "Max-pooling in the discriminator, to downsample as classifiers do"),
            ("bn", "Batch norm in both nets, except G's output and D's input layers"),
            ("swap", "LeakyReLU in the generator, ReLU in the discriminator"),
            ("fc", "Large fully connected hidden layers after the convolutions"),
        ],
        answer="bn",
        explanation="Radford et al. replace pooling by strided convolutions, drop fully connected "
                    "hidden layers and apply batch norm everywhere except G's output and D's input "
                    "(normalizing those destabilized training). G uses ReLU and tanh, D LeakyReLU.",
    ),
    # ------------------------------------------------------------------ Mode Collapse
    dict(
        id="mode-what", concept="Mode Collapse", section="mode-collapse",
        question="A GAN trained on a ring of 8 Gaussians produces sharp points, all near 2 of the "
                 "8 modes. What is this, and what does it cost?",
        options=[
            ("dwins", "Mode collapse: D has won the game outright, and G gets no gradient any more"),
            ("overfit", "Overfitting: G has memorized a few training points and copies them"),
            ("recall", "Mode collapse: samples look real, but most modes are missed (low recall)"),
            ("vanish", "Vanishing gradients: with the JSD saturated, G has stopped learning"),
        ],
        answer="recall",
        explanation="The generator found a few outputs the discriminator accepts and maps most z "
                    "there. Each sample looks real (precision is high), but most modes are missed "
                    "(recall is low). It is not D winning: D is being fooled on those modes, and "
                    "G keeps receiving gradients and often hops from mode to mode.",
    ),
    dict(
        id="mode-wgangp", concept="Mode Collapse", section="mode-collapse",
        question="How does WGAN-GP keep its critic (approximately) 1-Lipschitz?",
        options=[
            ("clip", "It clips every critic weight to [−c, c] after each update"),
            ("sn", "It divides each critic weight matrix by its top singular value"),
            ("gp", "It penalizes (‖∇D(x̂)‖₂ − 1)² on real–fake interpolates x̂"),
            ("r1", "It penalizes ‖∇D(x)‖₂² on real samples, pushing it to 0"),
        ],
        answer="gp",
        explanation="Gulrajani et al. 2017 replace WGAN's weight clipping by a penalty "
                    "λ(‖∇D(x̂)‖₂ − 1)² at x̂ = εx + (1 − ε)x̃ sampled uniformly on lines between real "
                    "and fake points (genlab.regularizers.gradient_penalty). Dividing by the top "
                    "singular value is spectral normalization; a zero-centred penalty on real "
                    "data is R1, another method.",
    ),
    dict(
        id="mode-packing", concept="Mode Collapse", section="mode-collapse",
        question="How does packing (PacGAN) fight mode collapse?",
        options=[
            ("set", "D sees m samples at once, so a set of look-alike fakes is easy to reject"),
            ("diverse", "G makes m samples per noise vector and is rewarded when they differ"),
            ("vote", "m discriminators vote, and G must fool the majority of them at the same time"),
            ("steps", "D is updated m times per generator step, so it can keep up with G"),
        ],
        answer="set",
        explanation="Concatenating m samples lets D see the diversity of a set (Lin et al. 2018). "
                    "Several D steps per G step is n_critic, a different knob; G gets no explicit "
                    "diversity reward and there is one discriminator.",
    ),
    dict(
        id="mode-sn", concept="Mode Collapse", section="mode-collapse",
        question="What does spectral normalization (Miyato et al. 2018) change in the discriminator?",
        options=[
            ("penalty", "It adds a penalty on the norm of D's input gradient to the loss"),
            ("batch", "It normalizes each layer's activations by the mean and spread of the batch"),
            ("clip", "It clips each weight so that no entry is larger than one in magnitude"),
            ("sigma", "Each weight matrix is divided by an estimate of its largest singular value"),
        ],
        answer="sigma",
        explanation="W is replaced by W / σ(W), σ(W) estimated by one power iteration per step, "
                    "so each linear layer is 1-Lipschitz, and so is D with 1-Lipschitz activations "
                    "between them. It adds no loss term; batch norm normalizes activations, and "
                    "clipping entries does not bound σ(W) to 1.",
    ),
    dict(
        id="mode-collapse-sim", concept="Mode Collapse", section="mode-collapse", sim="gan2d",
        question="In the GAN playground, pick the 'Mode collapse' preset (grid25, minimax loss, "
                 "5 D steps per G step, no remedy) and train 3,000 steps. How many of the 25 modes "
                 "are covered?",
        # Run (OMP_NUM_THREADS=1, GanPlayground with GAN_PRESETS['mode-collapse'], PacGAN
        # protocol on 2,500 samples): seed 0: 16, 13, 18, 16 modes at 750/1500/2250/3000 steps;
        # seed 1: 20, 20, 16, 16; seed 2: 15, 11, 11, 11.
        options=[
            ("all", "All 25: five D steps per G step give the minimax game all it needs"),
            ("part", "About 10 to 20: part of the grid stays empty, and the count can move"),
            ("one", "One or two: every sample is put on the same point of the grid"),
            ("none", "None: the minimax loss saturates, and no sample ever reaches a mode"),
        ],
        answer="part",
        explanation="On grid25 this preset covered 16, 16 and 11 of the 25 modes after 3,000 steps "
                    "(seeds 0, 1, 2), with the count moving between checks as G hops. The "
                    "generator still learns (it is not stuck), but nothing in the game asks it to "
                    "cover every mode.",
    ),
    dict(
        id="wgangp-sim", concept="Mode Collapse", section="mode-collapse", sim="gan2d",
        question="Now pick the 'Remedy: WGAN-GP' preset (the same settings with the WGAN-GP loss) "
                 "and train 3,000 steps. Compared with the 'Mode collapse' run, what changes?",
        # Run (as above, GAN_PRESETS['wgan-gp'], 3,000 steps): modes / high-quality % / reverse
        # KL, seed 0: 19 / 9.4 / 0.80, seed 1: 22 / 9.4 / 0.66, seed 2: 25 / 16.1 / 0.57;
        # 'mode-collapse': 16 / 38.7 / 1.09, 16 / 19.3 / 1.47, 11 / 46.2 / 1.52.
        options=[
            ("fewer", "Fewer modes, sharper points: the penalty pulls fakes to the nearest mode"),
            ("nothing", "Nothing measurable: WGAN-GP changes the loss shown, not what G learns"),
            ("better", "All 25 modes, and more high-quality samples than the minimax run too"),
            ("more", "More modes and a lower reverse KL, but fewer high-quality samples"),
        ],
        answer="more",
        explanation="With the critic's loss and gradient penalty the generator covered 19–25 "
                    "modes (against 11–16) with a lower reverse KL, but at 3,000 steps only "
                    "9–16 % of its samples were high quality, against 19–46 % for the collapsed "
                    "generator's few modes: coverage first, sharpness later.",
    ),
]


def option_ids(q: dict) -> list[str]:
    return [oid for oid, _ in q["options"]]


def shuffled(q: dict, learner: str = "") -> list[tuple[str, str]]:
    """The options of `q` in an order fixed by (learner, question id): the same on every run
    and every reload for one learner, different between learners. `learner=""` is the order
    of the page as served (and without JavaScript)."""
    order = list(q["options"])
    random.Random(f"{learner}/{q['id']}").shuffle(order)
    return order


def served(learner: str = "") -> list[dict]:
    """The questions as the page and /api/quiz serve them: options as {id, text} in the
    learner's order, `answer` the right option's id."""
    return [{**{k: v for k, v in q.items() if k != "options"},
             "options": [{"id": oid, "text": text} for oid, text in shuffled(q, learner)]}
            for q in QUESTIONS]
