# Commission rules, the calculation engine's lines and their states (the orders/commission issue).
