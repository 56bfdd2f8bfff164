"""The `offhook` command (`main`): one module per command group."""
