"""The pure core: values and rules, no I/O (DESIGN.md §2). The purity test walks this folder."""
