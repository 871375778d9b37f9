"""Services: the rules and transactions of the app. Views parse, call one service, respond."""
