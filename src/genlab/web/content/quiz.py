"""The knowledge check: two or more questions per concept, each with an explanation of the
right answer. Served as HTML by `genlab.web.lesson` and as JSON at /api/quiz; answers are
checked in the browser and kept in localStorage only.
"""

from __future__ import annotations

import random

CONCEPTS = ("Autoencoder", "ELBO", "Reparameterization", "Latent Space", "GAN", "DCGAN",
            "Mode Collapse")

QUESTIONS: list[dict] = [
    dict(
        id="ae-bottleneck", concept="Autoencoder",
        question="What forces a plain autoencoder to learn a useful code rather than the identity map?",
        options=[
            "A KL term that pulls the code towards N(0, I)",
            "A bottleneck: the code has far fewer dimensions than the input",
            "An adversarial discriminator on the reconstructions",
            "Random noise added to the decoder's weights",
        ],
        answer=1,
        explanation="With a code much smaller than x, the encoder must keep only what the decoder "
                    "needs to rebuild x. A plain autoencoder has no KL term and no discriminator: "
                    "the reconstruction loss through a narrow bottleneck is all it has.",
    ),
    dict(
        id="ae-sampling", concept="Autoencoder",
        question="You decode a random point drawn near the centre of a trained plain "
                 "autoencoder's latent space. What do you usually get?",
        options=[
            "A sharp, typical sample, because the decoder learned p(x)",
            "Often garbage: nothing made the codes fill the space, so the point may lie in a hole "
            "the decoder never saw",
            "Exactly the average training image",
            "An error: autoencoders cannot decode arbitrary points",
        ],
        answer=1,
        explanation="An autoencoder is trained only on the codes of training points. Those codes "
                    "can sit in scattered islands with gaps between them; a decoder evaluated in a "
                    "gap was never trained there. It models no density, so it has no way to sample.",
    ),
    dict(
        id="elbo-gap", concept="ELBO",
        question="log p(x) − ELBO(x) equals which quantity?",
        options=[
            "KL(q(z|x) ‖ p(z))",
            "KL(q(z|x) ‖ p(z|x)), the gap between the encoder and the true posterior",
            "The reconstruction error",
            "Zero, for any encoder",
        ],
        answer=1,
        explanation="log p(x) = ELBO(x) + KL(q(z|x) ‖ p(z|x)). The KL is ≥ 0, so the ELBO is a "
                    "lower bound that is tight exactly when q(z|x) equals the true posterior. "
                    "KL(q(z|x) ‖ p(z)) is a term inside the ELBO, not the gap.",
    ),
    dict(
        id="elbo-terms", concept="ELBO",
        question="Which pair of terms makes up the ELBO that a VAE maximizes?",
        options=[
            "E_q[log p(x|z)] − KL(q(z|x) ‖ p(z))",
            "E_q[log p(x|z)] + KL(q(z|x) ‖ p(z))",
            "log D(x) + log(1 − D(G(z)))",
            "‖x − x̂‖² + ‖z‖²",
        ],
        answer=0,
        explanation="Expected reconstruction log-likelihood minus the KL from the encoder's "
                    "distribution to the prior. Maximizing it rewards good reconstructions and "
                    "penalizes codes that stray from N(0, I); the loss genlab minimizes is its "
                    "negative (genlab.losses.vae_loss).",
    ),
    dict(
        id="beta-vae", concept="ELBO",
        question="In a β-VAE with β > 1, what do you trade for what?",
        options=[
            "Sharper reconstructions for a blurrier latent space",
            "Reconstruction quality for a code closer to the prior (more factorized, often more "
            "disentangled)",
            "Training speed for memory",
            "Nothing: β only rescales the loss, the optimum is the same",
        ],
        answer=1,
        explanation="β multiplies the KL term. Above 1 it squeezes the information the code may "
                    "carry: reconstructions get worse, and the independent-Gaussian prior pushes "
                    "the code towards separate factors. The optimum does move, because only one of "
                    "the two terms is scaled.",
    ),
    dict(
        id="reparam-why", concept="Reparameterization",
        question="Why write z = μ + σ ⊙ ε with ε ~ N(0, I) instead of sampling z ~ N(μ, σ²) directly?",
        options=[
            "It makes sampling faster",
            "The randomness moves into ε, which has no parameters, so gradients flow through μ "
            "and σ to the encoder",
            "It makes q(z|x) closer to the prior",
            "It removes the need for a KL term",
        ],
        answer=1,
        explanation="A sampling node blocks backpropagation: d(sample)/dμ is undefined. Written as "
                    "a deterministic function of (μ, σ) and an outside noise ε, z is differentiable "
                    "in μ and σ, giving low-variance pathwise gradients.",
    ),
    dict(
        id="reparam-logvar", concept="Reparameterization",
        question="The encoder outputs log σ² rather than σ. With logvar = log σ², which is the "
                 "right sample?",
        options=[
            "z = μ + logvar ⊙ ε",
            "z = μ + exp(logvar) ⊙ ε",
            "z = μ + exp(logvar / 2) ⊙ ε",
            "z = exp(μ) + ε",
        ],
        answer=2,
        explanation="σ = exp(½ log σ²). Predicting log σ² keeps σ positive without a constraint and "
                    "is numerically stable; exp(logvar) would be the variance, not the standard "
                    "deviation.",
    ),
    dict(
        id="latent-kl", concept="Latent Space",
        question="Why is the latent space of a VAE better for interpolation than a plain "
                 "autoencoder's?",
        options=[
            "It has more dimensions",
            "The KL term packs the codes around N(0, I) and noise makes the decoder handle whole "
            "regions, so points between codes decode to plausible data",
            "The decoder is larger",
            "It is discrete",
        ],
        answer=1,
        explanation="Each training point is encoded as a small cloud, not a point, and the KL term "
                    "pulls the clouds together towards the prior. The space between codes is "
                    "covered during training, so a straight (or spherical) path between two codes "
                    "stays on decodable ground.",
    ),
    dict(
        id="latent-slerp", concept="Latent Space",
        question="For a 128-dimensional Gaussian latent, why do people interpolate with slerp "
                 "rather than a straight line?",
        options=[
            "Slerp is cheaper to compute",
            "Samples of N(0, I) concentrate near the sphere of radius √d; the midpoint of a "
            "straight line has a smaller norm, atypical for the prior",
            "Straight lines leave the unit cube",
            "The decoder only accepts unit vectors",
        ],
        answer=1,
        explanation="In high dimension almost all the mass of N(0, I) lies in a thin shell of "
                    "radius ≈ √d. The midpoint of two such points has norm ≈ √(d/2), where the "
                    "decoder saw almost no codes; slerp stays on the shell.",
    ),
    dict(
        id="gan-dstar", concept="GAN",
        question="For a fixed generator, the optimal discriminator is D*(x) = ?",
        options=[
            "p_g(x) / (p_data(x) + p_g(x))",
            "p_data(x) / (p_data(x) + p_g(x))",
            "1/2 everywhere",
            "p_data(x) − p_g(x)",
        ],
        answer=1,
        explanation="Maximizing p_data log D + p_g log(1 − D) pointwise gives "
                    "D* = p_data / (p_data + p_g). It equals ½ everywhere only at the equilibrium "
                    "p_g = p_data, where the value of the game is −log 4.",
    ),
    dict(
        id="gan-jsd", concept="GAN",
        question="With the optimal discriminator plugged in, what does the minimax generator "
                 "objective C(G) measure?",
        options=[
            "−log 4 + 2 · JSD(p_data ‖ p_g)",
            "KL(p_g ‖ p_data)",
            "The Wasserstein-1 distance",
            "The ELBO of the generator",
        ],
        answer=0,
        explanation="C(G) = −log 4 + 2·JSD(p_data ‖ p_g), minimized (at −log 4) exactly when "
                    "p_g = p_data. JSD saturates at log 2 when the supports do not overlap, which "
                    "is why the original loss gives vanishing gradients early in training.",
    ),
    dict(
        id="gan-nonsat", concept="GAN",
        question="Early in training D rejects every fake confidently. Which generator loss still "
                 "gives strong gradients?",
        options=[
            "minimize log(1 − D(G(z))) (the minimax loss)",
            "maximize log D(G(z)) (the non-saturating loss)",
            "minimize D(G(z))",
            "none; G must wait for D to get worse",
        ],
        answer=1,
        explanation="When D(G(z)) ≈ 0, log(1 − D) is flat, so its gradient vanishes. −log D(G(z)) "
                    "has the same fixed point but is steep exactly there (Goodfellow et al. 2014, "
                    "Sec. 3); it is genlab's default 'non-saturating' loss.",
    ),
    dict(
        id="dcgan-up", concept="DCGAN",
        question="How does the DCGAN generator grow a 100-d noise vector into an image?",
        options=[
            "A single fully connected layer to all pixels",
            "Strided transposed convolutions that double the spatial size at each step, with "
            "batch norm and ReLU, and tanh at the output",
            "Max-unpooling layers",
            "Nearest-neighbour upsampling only, with no learned weights",
        ],
        answer=1,
        explanation="DCGAN (Radford et al. 2016) projects z to a small 4×4 map, then each "
                    "stride-2 ConvTranspose2d doubles height and width while halving the channels "
                    "(4 → 8 → 16 → 32 → 64). The discriminator mirrors it with strided "
                    "convolutions and LeakyReLU, with no pooling.",
    ),
    dict(
        id="dcgan-bn", concept="DCGAN",
        question="Which DCGAN guideline is right?",
        options=[
            "Use max-pooling in the discriminator",
            "Use batch norm in both networks, except the generator's output layer and the "
            "discriminator's input layer",
            "Use sigmoid activations everywhere",
            "Use large fully connected hidden layers",
        ],
        answer=1,
        explanation="Radford et al. replace pooling by strided convolutions, drop fully connected "
                    "hidden layers and apply batch norm everywhere except G's output and D's input "
                    "(normalizing those destabilized training). G uses ReLU and tanh, D LeakyReLU.",
    ),
    dict(
        id="mode-what", concept="Mode Collapse",
        question="A GAN trained on a ring of 8 Gaussians produces sharp points, all near 2 of the "
                 "8 modes. What is this, and what does it cost?",
        options=[
            "Overfitting; the samples copy training points",
            "Mode collapse: high sample quality, low diversity (poor recall)",
            "Posterior collapse; the latent code is ignored",
            "Vanishing gradients; the generator is not learning at all",
        ],
        answer=1,
        explanation="The generator found a few outputs the discriminator accepts and maps most z "
                    "there. Each sample looks real (precision is high), but most modes are missed "
                    "(recall is low). Posterior collapse is the VAE failure where z is ignored.",
    ),
    dict(
        id="mode-fixes", concept="Mode Collapse",
        question="How does packing (PacGAN) fight mode collapse?",
        options=[
            "It adds a gradient penalty on interpolates",
            "The discriminator judges m samples at once, so a set of near-identical fakes is easy "
            "to reject",
            "It normalizes every weight by its largest singular value",
            "It trains several generators",
        ],
        answer=1,
        explanation="Concatenating m samples lets D see the diversity of a set. WGAN-GP instead "
                    "penalizes (‖∇D(x̂)‖ − 1)² on interpolates, spectral norm divides each weight by "
                    "σ(W), and minibatch discrimination gives D features comparing a sample to the "
                    "rest of its batch.",
    ),
    dict(
        id="mode-wgangp", concept="Mode Collapse",
        question="In WGAN-GP, where is the gradient penalty evaluated?",
        options=[
            "On real samples only",
            "On fake samples only",
            "On random points x̂ = εx + (1 − ε)x̃ on lines between a real and a fake sample",
            "On the generator's weights",
        ],
        answer=2,
        explanation="The optimal critic has gradient norm 1 along lines between coupled real and "
                    "fake points, so Gulrajani et al. penalize (‖∇D(x̂)‖₂ − 1)² at x̂ sampled "
                    "uniformly on such lines (genlab.regularizers.gradient_penalty).",
    ),
]


def _shuffled(q: dict) -> dict:
    """The options in an order fixed by the question's id (the same on every run), so that the
    right answer is not always in the same place; the text above stays easy to review."""
    order = list(range(len(q["options"])))
    random.Random(q["id"]).shuffle(order)
    return {**q, "options": [q["options"][i] for i in order], "answer": order.index(q["answer"])}


QUESTIONS = [_shuffled(q) for q in QUESTIONS]
