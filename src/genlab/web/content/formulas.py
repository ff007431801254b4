"""The lesson's key formulas, in LaTeX (rendered to MathML on the server by latex2mathml), each
with the genlab functions that compute it (`latex_more`: further lines of the same formula;
`narrow`: the same formula broken into shorter lines, shown instead on narrow screens so that
nothing is clipped, e.g. at 375 px).
`refs` pairs a phrase with the functions it names ("computed by", [...]);
tests/web/test_page*.py imports every name listed there, so the page can never name a
function that does not exist.
"""

from __future__ import annotations

FORMULAS: dict[str, dict] = {
    "reparam": dict(
        label="Reparameterization",
        latex=r"z = \mu_\phi(x) + \sigma_\phi(x) \odot \varepsilon, \quad "
              r"\varepsilon \sim \mathcal{N}(0, I), \quad \sigma = \exp\left(\tfrac{1}{2}\log\sigma^2\right)",
        narrow=[r"z = \mu_\phi(x) + \sigma_\phi(x) \odot \varepsilon,",
                r"\varepsilon \sim \mathcal{N}(0, I),",
                r"\sigma = \exp\left(\tfrac{1}{2}\log\sigma^2\right)"],
        refs=[("computed by", ["genlab.models.VAE.reparameterize"])],
    ),
    "log_evidence": dict(
        label="Log-evidence identity",
        latex=r"\log p_\theta(x) = \mathbb{E}_{q_\phi(z\mid x)}\left[\log \frac{p_\theta(x, z)}"
              r"{q_\phi(z\mid x)}\right] + D_{\mathrm{KL}}\left(q_\phi(z\mid"
              r" x)\,\|\,p_\theta(z\mid x)\right)",
        narrow=[r"\log p_\theta(x) = \mathbb{E}_{q_\phi(z\mid x)}\left[\log"
                r" \frac{p_\theta(x, z)}{q_\phi(z\mid x)}\right]",
                r"\qquad + D_{\mathrm{KL}}\left(q_\phi(z\mid x)\,\|\,p_\theta(z\mid x)\right)"],
        refs=[("log p(x) estimated by", ["genlab.metrics.likelihood.iwae_bound"]),
              ("its first term by", ["genlab.metrics.likelihood.elbo_terms"])],
    ),
    "elbo": dict(
        label="ELBO",
        latex=r"\log p_\theta(x) \ge \mathcal{L}(\theta, \phi; x) = \mathbb{E}_{q_\phi(z\mid x)}"
              r"\left[\log p_\theta(x\mid z)\right] - D_{\mathrm{KL}}\left(q_\phi(z\mid x)\,\|\,p(z)\right)",
        narrow=[r"\log p_\theta(x) \ge \mathcal{L}(\theta, \phi; x)",
                r"= \mathbb{E}_{q_\phi(z\mid x)}\left[\log p_\theta(x\mid z)\right]",
                r"\qquad - D_{\mathrm{KL}}\left(q_\phi(z\mid x)\,\|\,p(z)\right)"],
        refs=[("computed by", ["genlab.losses.vae_loss", "genlab.losses.bernoulli_log_likelihood",
                               "genlab.losses.kl_standard_normal"])],
    ),
    "kl": dict(
        label="KL of a diagonal Gaussian from N(0, I)",
        latex=r"D_{\mathrm{KL}}\left(\mathcal{N}(\mu, \mathrm{diag}\,\sigma^2)\,\|\,\mathcal{N}(0, I)\right)"
              r" = -\frac{1}{2}\sum_{j=1}^{d}\left(1 + \log\sigma_j^2 - \mu_j^2 - \sigma_j^2\right)",
        narrow=[r"D_{\mathrm{KL}}\left(\mathcal{N}(\mu,"
                r" \mathrm{diag}\,\sigma^2)\,\|\,\mathcal{N}(0, I)\right)",
                r"= -\frac{1}{2}\sum_{j=1}^{d}\left(1 + \log\sigma_j^2 - \mu_j^2 - \sigma_j^2\right)"],
        refs=[("computed by", ["genlab.losses.kl_standard_normal"])],
    ),
    "beta_vae": dict(
        label="β-VAE objective",
        latex=r"\mathcal{L}_\beta(\theta, \phi; x) = \mathbb{E}_{q_\phi(z\mid x)}\left[\log p_\theta(x\mid z)"
              r"\right] - \beta\, D_{\mathrm{KL}}\left(q_\phi(z\mid x)\,\|\,p(z)\right)",
        narrow=[r"\mathcal{L}_\beta(\theta, \phi; x) = \mathbb{E}_{q_\phi(z\mid"
                r" x)}\left[\log p_\theta(x\mid z)\right]",
                r"\qquad - \beta\, D_{\mathrm{KL}}\left(q_\phi(z\mid x)\,\|\,p(z)\right)"],
        refs=[("computed by", ["genlab.losses.vae_loss"])],
    ),
    "minimax": dict(
        label="GAN minimax objective",
        latex=r"\min_G \max_D V(D, G) = \mathbb{E}_{x \sim p_{\mathrm{data}}}\left[\log D(x)\right]"
              r" + \mathbb{E}_{z \sim p(z)}\left[\log\left(1 - D(G(z))\right)\right]",
        narrow=[r"\min_G \max_D V(D, G)",
                r"= \mathbb{E}_{x \sim p_{\mathrm{data}}}\left[\log D(x)\right]",
                r"\qquad + \mathbb{E}_{z \sim p(z)}\left[\log\left(1 - D(G(z))\right)\right]"],
        refs=[("computed by", ["genlab.losses.discriminator_loss",
                               "genlab.losses.generator_loss"])],
    ),
    "nonsat": dict(
        label="Non-saturating generator loss",
        latex=r"\mathcal{L}_G = -\mathbb{E}_{z \sim p(z)}\left[\log D(G(z))\right]",
        refs=[("computed by", ["genlab.losses.generator_loss"])],
    ),
    "dstar": dict(
        label="Optimal discriminator",
        latex=r"D^*_G(x) = \frac{p_{\mathrm{data}}(x)}{p_{\mathrm{data}}(x) + p_g(x)}",
        refs=[("approached by a discriminator trained with", ["genlab.losses.discriminator_loss"])],
    ),
    "jsd": dict(
        label="Generator objective at D*",
        latex=r"C(G) = \max_D V(D, G) = -\log 4 + 2\,\mathrm{JSD}\left(p_{\mathrm{data}}\,\|\,p_g\right)",
        narrow=[r"C(G) = \max_D V(D, G)",
                r"= -\log 4 + 2\,\mathrm{JSD}\left(p_{\mathrm{data}}\,\|\,p_g\right)"],
        refs=[("minimized by a generator trained with", ["genlab.losses.generator_loss"])],
    ),
    "wgan_gp": dict(
        label="WGAN-GP critic loss",
        latex=r"L_D = \mathbb{E}_{\tilde{x} \sim p_g}\left[D(\tilde{x})\right] - \mathbb{E}_{x \sim "
              r"p_{\mathrm{data}}}\left[D(x)\right] + \lambda\, \mathbb{E}_{\hat{x}}\left[\left("
              r"\|\nabla_{\hat{x}} D(\hat{x})\|_2 - 1\right)^2\right],",
        latex_more=[r"\hat{x} = \epsilon x + (1 - \epsilon)\tilde{x}, \quad \epsilon \sim U[0, 1], "
                    r"\quad \lambda = 10"],
        narrow=[r"L_D = \mathbb{E}_{\tilde{x} \sim p_g}\left[D(\tilde{x})\right]"
                r" - \mathbb{E}_{x \sim p_{\mathrm{data}}}\left[D(x)\right]",
                r"\qquad + \lambda\, \mathbb{E}_{\hat{x}}\left[\left(\|\nabla_{\hat{x}}"
                r" D(\hat{x})\|_2 - 1\right)^2\right],",
                r"\hat{x} = \epsilon x + (1 - \epsilon)\tilde{x},",
                r"\epsilon \sim U[0, 1], \quad \lambda = 10"],
        refs=[("computed by", ["genlab.losses.discriminator_loss",
                               "genlab.regularizers.gradient_penalty"])],
    ),
}

# The seven formulas the lesson names as key; each must name at least one function.
KEY_FORMULAS = ("elbo", "reparam", "kl", "beta_vae", "minimax", "dstar", "wgan_gp")

# Code shown in the code section: (dotted name of a class or function, caption).
CODE = {
    "dcgan_generator": ("genlab.models.dcgan.DCGANGenerator",
                        "The DCGAN generator: z → 4×4 (or 7×7) map → stride-2 transposed "
                        "convolutions with batch norm and ReLU → tanh."),
    "gradient_penalty": ("genlab.regularizers.gradient_penalty",
                         "The WGAN-GP penalty (Gulrajani et al. 2017, Algorithm 1, lines 6-8)."),
}
