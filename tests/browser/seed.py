"""Create the browser suite's people: couples of two partners, each linked to one therapist.

Run as a script with the server's environment (DATABASE_URL, SECRET_KEY); prints JSON.
"""
import json
import sys

from couples import create_app
from couples import accounts, pairing
from couples.extensions import db

PASSWORD = "browser-test-password-1"


def main(count: int) -> None:
    app = create_app({"ARGON2_MEMORY_KIB": 19456, "ARGON2_TIME_COST": 2})
    out = {"password": PASSWORD, "couples": []}
    with app.app_context():
        therapist = accounts.register("therapist@test.example", PASSWORD, "Dr Robin Lee", "therapist")
        for i in range(count):
            a = accounts.register(f"a{i}@test.example", PASSWORD, ["Alex", "Jo", "Kim"][i % 3], "partner")
            b = accounts.register(f"b{i}@test.example", PASSWORD, ["Sam", "Ria", "Lou"][i % 3], "partner")
            pairing.create_couple(a)
            pairing.join(b, pairing.new_invitation(a).code)
            link = pairing.invite_therapist(a, email=therapist.email)
            pairing.consent(a, link.id)
            pairing.consent(b, link.id)
            db.session.commit()
            out["couples"].append({"a": a.email, "b": b.email, "names": [a.display_name, b.display_name]})
        out["therapist"] = therapist.email
    print(json.dumps(out))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
