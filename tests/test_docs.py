"""The README and .env.example stay true to the code."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENV_READ = re.compile(r"""env(?:\.\w+)?\(\s*["']([A-Z][A-Z0-9_]+)["']""")
OS_ENV_READ = re.compile(r"""os\.environ\.get\(\s*["']([A-Z][A-Z0-9_]+)["']""")


def variables_read_by_the_code() -> set[str]:
    names = set(ENV_READ.findall((ROOT / "config" / "settings.py").read_text()))
    names |= set(OS_ENV_READ.findall((ROOT / "scripts" / "devstack.py").read_text()))
    return names


def variables_in_env_example() -> set[str]:
    text = (ROOT / ".env.example").read_text()
    return {line.split("=", 1)[0] for line in text.splitlines() if re.match(r"^[A-Z][A-Z0-9_]*=", line)}


def test_env_example_lists_exactly_the_variables_the_code_reads():
    read = variables_read_by_the_code()
    assert {"DATABASE_URL", "REDIS_URL", "DJANGO_SECRET_KEY"} <= read
    assert variables_in_env_example() == read


def test_readme_starts_with_the_two_commands():
    text = (ROOT / "README.md").read_text()
    first_block = text.split("```", 2)[1]
    assert "make run" in first_block and "make test" in first_block


def test_ci_runs_make_test():
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_the_readme_goes_from_the_two_commands_to_the_walkthrough():
    text = (ROOT / "README.md").read_text()
    sections = [line for line in text.splitlines() if line.startswith("## ")]
    assert sections[0] == "## Walkthrough: from the first distributor to the first payout"


def test_the_project_stands_alone_and_its_doc_links_resolve():
    """No file points outside the repository (the team's notes are not part of it); every relative link in the
    README and docs/ names a file that exists."""
    import subprocess

    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    outside = re.compile(r"\.\./shared|DESIGN\.md|STYLE\.md|RELIABILITY\.md|PROVIDERS\.md")
    for name in tracked:
        path = ROOT / name
        if path.suffix in {".py", ".md", ".toml", ".yml", ".html", ".txt", ""} and path.is_file():
            if name == "tests/test_docs.py":
                continue
            assert not outside.search(path.read_text(errors="ignore")), name
    for doc in [ROOT / "README.md", *(ROOT / "docs").glob("*.md")]:
        for target in re.findall(r"\]\(((?!https?:|#)[^)#]+)(?:#[^)]*)?\)", doc.read_text()):
            assert (doc.parent / target).exists(), f"{doc.name}: {target}"
