"""What can be set: the process configuration (`config`, from the environment), the firm's
telephony settings (`telephony`), and the people who log in (`users`)."""
