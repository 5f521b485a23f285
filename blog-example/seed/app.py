"""The seed: the Flask-SQLAlchemy event-listener tutorial's blog, as the tutorial has it.

A `Post` model whose `created_at` is set by a `before_insert` listener, and `/add_post`
inserting one post. BENCHMARKS.md measures it against blog-example (`bench.sh` beside this
file). The one addition is the SQLite set-up blog-example has (WAL, synchronous = NORMAL,
a busy timeout), so that both store the same way; `SEED_PLAIN_SQLITE=1` leaves SQLite's
defaults.
"""

import os
from datetime import datetime

from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import event
from sqlalchemy.engine import Engine

app = Flask(__name__)
app.config["SQLALCHEMY_DATABASE_URI"] = os.environ.get("SEED_DATABASE_URL", "sqlite:///blog.db")
db = SQLAlchemy(app)


class Post(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    title = db.Column(db.String(80), nullable=False)
    content = db.Column(db.Text, nullable=False)
    created_at = db.Column(db.DateTime)


@db.event.listens_for(Post, "before_insert")
def before_insert_listener(mapper, connection, target):
    target.created_at = datetime.utcnow()


@app.route("/add_post")
def add_post():
    new_post = Post(title="New Post", content="This is a new post")
    db.session.add(new_post)
    db.session.commit()
    return "Post added successfully!"


if not os.environ.get("SEED_PLAIN_SQLITE"):

    @event.listens_for(Engine, "connect")
    def tune_sqlite(dbapi_connection, connection_record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()


with app.app_context():
    db.create_all()

if __name__ == "__main__":
    app.run(debug=True)
