"""Register, log in and log out (HTML pages)."""
from flask import Blueprint

bp = Blueprint("auth", __name__)
