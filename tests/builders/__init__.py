"""What tests build their data with, in one place: model factories (`factories`), a shop per app with the
people and orders its tests need (`distributors`, `orders`, `settlements`, `risk`), and two merchants with
everything for the isolation tests (`world`). API clients and assertions are in tests/helpers.py."""
