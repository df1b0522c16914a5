"""Sphinx configuration of the course site: the committed notebooks in order, as saved (no execution).

Built by `make site` (sphinx-build -c site . build/site): the source folder is the repository
root, so pages keep the repository's paths (notebooks/01_svm_theory.html beside
notebooks/glossary.html) and the notebooks' relative links, the glossary's included, work as
they do on GitHub and in JupyterLab. Only the files in `include_patterns` are read.
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from helpers.links import repository, rewrite  # noqa: E402  (the one place the repository address is set)

REPOSITORY = repository(ROOT)
BRANCH = "main"
FIRST_NOTEBOOK = "notebooks/01_svm_theory.ipynb"

project = "SVMs in Keras, honestly measured"
author = "the svm-in-keras authors"
root_doc = "site/index"
include_patterns = ["site/index.md", "notebooks/*.ipynb", "notebooks/glossary.md"]
exclude_patterns = [".venv", "venv", "build", "reports", ".git", "**/.ipynb_checkpoints", "**/node_modules"]

extensions = ["myst_nb"]
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3  # GitHub-style anchors, so links such as glossary.md#margin resolve
nb_execution_mode = "off"  # the saved outputs are the lesson as run; nothing is executed here
nb_merge_streams = True
# helpers.claims saves its table as its own MIME type beside text/html; the page shows the HTML.
suppress_warnings = ["mystnb.unknown_mime_type"]

# MathJax 2, the version of nbconvert's HTML reports and of the formula check run on this site's
# pages (tests/test_site.py); SITE_MATHJAX points it at a local copy for an offline build.
mathjax_path = os.environ.get(
    "SITE_MATHJAX", "https://cdnjs.cloudflare.com/ajax/libs/mathjax/2.7.7/MathJax.js?config=TeX-AMS_CHTML-full"
)
# MyST marks each page's top section tex2jax_ignore and its math nodes class "math": MathJax 2 is
# told to typeset those nodes only (myst's own setting writes a MathJax 3/4 configuration).
myst_update_mathjax = False
mathjax2_config = {"tex2jax": {"processClass": "tex2jax_process|mathjax_process|math|output_area"}}

html_theme = "sphinx_book_theme"
html_title = project
html_static_path = ["static"]
html_css_files = ["mathjax2.css"]
html_extra_path = ["root"]  # index.html at the site's root, which forwards to site/index.html
html_theme_options = {
    "repository_url": f"https://github.com/{REPOSITORY}",
    "repository_branch": BRANCH,
    "path_to_docs": "",
    "use_repository_button": True,
    "use_download_button": True,
    "launch_buttons": {
        "binderhub_url": "https://mybinder.org",
        "colab_url": "https://colab.research.google.com",
        "notebook_interface": "jupyterlab",
    },
    "navigation_with_keys": True,
}


def _launch_buttons_on_every_page(app, pagename, templatename, context, doctree):
    """The theme adds Binder and Colab buttons to notebook pages only; the others launch notebook 01."""
    if "header_buttons" not in context or "kernelspec" in app.env.metadata.get(pagename, {}):
        return
    prefix = "../" * pagename.count("/")
    binder = f"https://mybinder.org/v2/gh/{REPOSITORY}/{BRANCH}?labpath={FIRST_NOTEBOOK.replace('/', '%2F')}"
    colab = f"https://colab.research.google.com/github/{REPOSITORY}/blob/{BRANCH}/{FIRST_NOTEBOOK}"
    buttons = [
        {"type": "link", "text": "Binder", "tooltip": "Launch the course on Binder (notebook 01)",
         "icon": prefix + "_static/images/logo_binder.svg", "url": binder},
        {"type": "link", "text": "Colab", "tooltip": "Launch notebook 01 on Colab",
         "icon": prefix + "_static/images/logo_colab.png", "url": colab},
    ]
    context["header_buttons"].append({"type": "group", "tooltip": "Launch interactive content",
                                      "icon": "fas fa-rocket", "buttons": buttons, "label": "launch-buttons"})


def _repository_links(app, docname, source):
    """site/index.md's GitHub links point at pyproject.toml's repository, as helpers.links does elsewhere."""
    if docname == root_doc:
        source[0] = rewrite(source[0], REPOSITORY)


def setup(app):
    app.connect("source-read", _repository_links)
    app.connect("html-page-context", _launch_buttons_on_every_page, priority=502)
