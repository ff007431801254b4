"""Knowledge check (filled below)."""
CONCEPTS = ("Autoencoder", "ELBO", "Reparameterization", "Latent Space", "GAN", "DCGAN",
            "Mode Collapse")
QUESTIONS: list[dict] = []
