"""Load profiles: Locust user classes (feed lanes, onboarding, suggestions) and their catalog.

`catalog`, `surface` and `accounts` are pure and safe to import anywhere; the
user-class modules (`base`, `feed`, `onboarding`, `suggestions`) import Locust,
which monkey-patches the process with gevent: import them only inside a
Locust process.
"""
