"""Qt-free state: the ViewState, its Qt adapter, and the selection code the GUI and the CLI share."""
