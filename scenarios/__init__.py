"""Scenario generators and named scenarios, written as engine-contract folders."""
