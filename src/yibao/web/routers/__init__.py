"""The page routers, one per area: public (sign-in, registration, help), person, money, cases, unit."""
