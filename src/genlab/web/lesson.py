"""Builds the lesson page (placeholder while the content lands)."""


def build_page() -> str:
    return ("<!doctype html><html lang=en><head><meta charset=utf-8><title>Generative Models: VAE &amp; GAN</title>"
            "</head><body><h1>Generative Models: VAE &amp; GAN</h1></body></html>")
