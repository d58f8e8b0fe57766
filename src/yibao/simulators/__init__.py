"""Simulators of the outside parties the agency deals with, for the demo and the tests."""
