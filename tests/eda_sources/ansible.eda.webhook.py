"""`ansible.eda.webhook` for ansible-rulebook runs without the ansible.eda collection (run with `-S tests/eda_sources`): it is the same code, shipped in ansible-rulebook as `eda.builtin.webhook`."""

from ansible_rulebook.event_source.webhook import main  # noqa: F401
