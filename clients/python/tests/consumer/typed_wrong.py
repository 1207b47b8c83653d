"""Mistakes mypy must report (the test expects each line's error)."""
import files_gateway

client = files_gateway.connect()
wrong: int = client.users.find(1).username  # expect: assignment
client.userz.find(1)  # expect: attr-defined
client.users.find(1).no_such_field  # expect: attr-defined
client.users.find(1, options={"workspace": 3})  # expect: arg-type
with client.open("a.txt", "rb") as f:
    text: str = f.read()  # expect: assignment
