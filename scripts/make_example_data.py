"""Generate the bundled example dataset: support-ticket routing in chat format.

Deterministic (seeded). It deliberately carries a few realistic problems so that `describe` and
`check` have something to find: some eval tickets were copied into train, a handful of long
email threads exceed a 256-token context, and one department is over-represented.

    python scripts/make_example_data.py            # rewrites the files listed below
"""

from __future__ import annotations

import json
import random
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUTPUTS = [ROOT / "src" / "tuneahead" / "assets" / "examples", ROOT / "examples" / "data"]

SYSTEM = "You route customer support tickets. Answer with one department: billing, technical, shipping, account or other."
DEPARTMENTS = {
    "billing": [
        "I was charged twice for order {order} this month.",
        "My invoice {order} shows the wrong VAT number, can you correct it?",
        "Why did my subscription price go up from {amount} to {amount2}?",
        "The refund for {order} has not reached my card after {days} days.",
        "Please send me a receipt for the payment of {amount}.",
    ],
    "technical": [
        "The app crashes every time I open the {feature} screen on my {device}.",
        "I get error {code} when syncing my {device}.",
        "Since the last update the {feature} button does nothing.",
        "Export to PDF produces an empty file on {device}.",
        "Notifications stopped working on my {device} after reinstalling.",
    ],
    "shipping": [
        "Parcel {order} has been stuck in {city} for {days} days.",
        "The courier left my package at the wrong address in {city}.",
        "Can I change the delivery address of {order} to {city}?",
        "My order {order} arrived damaged, the box was crushed.",
        "Tracking for {order} has not updated since {days} days ago.",
    ],
    "account": [
        "I cannot reset my password, the email never arrives.",
        "Please merge my two accounts, one uses my work address.",
        "How do I enable two-factor authentication on {device}?",
        "I want to delete my account and all my data.",
        "My username was changed without my consent.",
    ],
    "other": [
        "Do you have a store in {city}?",
        "I would like to suggest a {feature} feature for your app.",
        "Are you hiring support staff in {city}?",
        "Thanks for the quick help last week!",
        "Can I get a printed catalogue sent to {city}?",
    ],
}
WEIGHTS = {"billing": 0.40, "technical": 0.25, "shipping": 0.15, "account": 0.12, "other": 0.08}
CITIES = ["Lyon", "Leeds", "Porto", "Graz", "Utrecht", "Turku", "Gdansk", "Bilbao", "Bergen", "Brno"]
DEVICES = ["iPhone 13", "Pixel 7", "Galaxy S22", "iPad", "Windows laptop", "MacBook", "Chromebook"]
FEATURES = ["calendar", "settings", "search", "dark mode", "offline", "sharing", "export"]
OPENERS = ["Hello,", "Hi team,", "Good morning,", "Dear support,", "", "Hey,"]
CLOSERS = ["Thanks.", "Regards, {name}", "Please help.", "", "Best, {name}", "Thank you in advance."]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
CONTEXT = [
    "I have been a customer since {year}.",
    "My account email is {name}{n}@example.com.",
    "This happened on {weekday} around {hour}:00.",
    "I am writing from {city}.",
    "I already contacted you by phone on {weekday}.",
    "I use the app on my {device}.",
    "This is the second time I write about this.",
    "Customer number {n}{n}.",
    "It is quite urgent for me.",
    "A colleague in {city} has the same problem.",
]
NAMES = ["Ana", "Tom", "Mia", "Lars", "Noor", "Ivan", "Chloe", "Sam", "Yuki", "Omar"]


def ticket(rng: random.Random, dept: str) -> str:
    body = rng.choice(DEPARTMENTS[dept]).format(
        order=f"#{rng.randint(10000, 99999)}", amount=f"{rng.randint(5, 90)}.{rng.randint(0, 99):02d} EUR",
        amount2=f"{rng.randint(91, 150)}.00 EUR", days=rng.randint(2, 21), feature=rng.choice(FEATURES),
        device=rng.choice(DEVICES), code=f"E{rng.randint(100, 999)}", city=rng.choice(CITIES),
    )
    context = rng.sample(CONTEXT, k=rng.randint(1, 2))
    context = [c.format(
        year=rng.randint(2012, 2025), device=rng.choice(DEVICES), name=rng.choice(NAMES).lower(),
        n=rng.randint(1, 999), city=rng.choice(CITIES), weekday=rng.choice(WEEKDAYS), hour=rng.randint(7, 22),
    ) for c in context]
    parts = [rng.choice(OPENERS), *context[:1], body, *context[1:], rng.choice(CLOSERS).format(name=rng.choice(NAMES))]
    return " ".join(p for p in parts if p)


def long_thread(rng: random.Random, dept: str) -> str:
    """A forwarded email thread: the routing question sits at the end, after a long quote."""
    quoted = " ".join(ticket(rng, rng.choice(list(DEPARTMENTS))) for _ in range(rng.randint(14, 22)))
    return f"Forwarding the whole thread below. > {quoted} >> Latest message: {ticket(rng, dept)}"


def row(rng: random.Random, long: bool = False) -> dict:
    dept = rng.choices(list(WEIGHTS), weights=list(WEIGHTS.values()))[0]
    text = long_thread(rng, dept) if long else ticket(rng, dept)
    return {"messages": [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": text},
        {"role": "assistant", "content": dept},
    ]}


def main() -> None:
    rng = random.Random(20261128)
    eval_rows = [row(rng) for _ in range(150)]
    train = [row(rng, long=rng.random() < 0.04) for _ in range(1200)]
    train += [json.loads(json.dumps(r)) for r in eval_rows[:12]]  # 8 % of eval leaked into train
    rng.shuffle(train)
    for folder in OUTPUTS:
        folder.mkdir(parents=True, exist_ok=True)
        for name, rows in (("example_train.jsonl", train), ("example_eval.jsonl", eval_rows)):
            with (folder / name).open("w", encoding="utf-8") as fh:
                fh.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    print(f"wrote {len(train)} train and {len(eval_rows)} eval rows to {', '.join(str(o) for o in OUTPUTS)}")


if __name__ == "__main__":
    main()
