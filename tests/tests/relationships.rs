//! Related rows through the model (issue 25): from a comment its post, from a post its
//! comments as a `Select` with every listener; eager loading of many parents' children (and
//! their parents, nested) in one query per chunk of keys, counted on each backend.

use std::any::Any;
use std::sync::Mutex;

use futures_util::TryStreamExt;
use model_core::schema::Schema;
use model_core::{Backend, Dialect, Model};
use model_tests::{per_backend, MysqlCounters, TestBackend, TestDb};

static TRACE: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());

fn note(tag: &str, entry: String) {
    TRACE.lock().unwrap().push((tag.to_owned(), entry));
}

fn trace(tag: &str) -> Vec<String> {
    let trace = TRACE.lock().unwrap();
    trace
        .iter()
        .filter(|(t, _)| t == tag)
        .map(|(_, e)| e.clone())
        .collect()
}

fn tag<DB: Backend>(test: &str) -> String {
    format!("{test}-{:?}", DB::DIALECT)
}

#[derive(Debug, Clone, PartialEq, Model)]
#[model(table = "users")]
#[listens_for(load, user_loaded)]
struct User {
    id: Option<i64>,
    tag: String,
    name: String,
}

fn user_loaded(user: &mut User) {
    note(&user.tag, "load user".to_owned());
}

#[derive(Debug, Clone, PartialEq, Model)]
#[model(table = "posts")]
#[listens_for(load, post_loaded)]
struct Post {
    id: Option<i64>,
    tag: String,
    title: String,
    published: bool,
}

fn post_loaded(post: &mut Post) {
    note(&post.tag, format!("load {}", post.title));
}

#[derive(Debug, Clone, PartialEq, Model)]
#[model(table = "comments")]
#[listens_for(load, comment_loaded)]
#[listens_for(before_update, comment_updating)]
#[listens_for(before_delete, comment_deleting)]
struct Comment {
    id: Option<i64>,
    #[model(references = Post, on_delete = "cascade")]
    post_id: i64,
    #[model(references = User, on_delete = "set_null")]
    author_id: Option<i64>,
    tag: String,
    text: String,
    approved: bool,
}

fn comment_loaded(comment: &mut Comment) {
    note(&comment.tag, format!("load {}", comment.text));
}
fn comment_updating(comment: &mut Comment) {
    note(&comment.tag, format!("before_update {}", comment.text));
}
fn comment_deleting(comment: &Comment) {
    note(&comment.tag, format!("before_delete {}", comment.text));
}

async fn schema<DB: TestBackend>(db: &TestDb<DB>) {
    // Every model that references `Post` with a cascade is read when a post is deleted:
    // its table is in every database of this file.
    Schema::new()
        .model::<User>()
        .model::<Post>()
        .model::<Comment>()
        .model::<Tag>()
        .model::<PostTag>()
        .create_all(&db.pool)
        .await
        .unwrap();
}

async fn post<DB: TestBackend>(db: &TestDb<DB>, tag: &str, title: &str) -> Post {
    let mut post = Post {
        id: None,
        tag: tag.to_owned(),
        title: title.to_owned(),
        published: true,
    };
    post.insert(&db.pool).await.unwrap();
    post
}

async fn comment<DB: TestBackend>(
    db: &TestDb<DB>,
    on: &Post,
    author: Option<&User>,
    text: &str,
) -> Comment {
    let mut comment = Comment {
        id: None,
        post_id: on.id.unwrap(),
        author_id: author.and_then(|a| a.id),
        tag: on.tag.clone(),
        text: text.to_owned(),
        approved: false,
    };
    comment.insert(&db.pool).await.unwrap();
    comment
}

/// From a post, its comments: a `Select` to filter, order, count, stream, update and delete
/// through, with every listener; from a comment, its post and its author.
async fn navigation_goes_both_ways<DB: TestBackend>(db: &TestDb<DB>) {
    schema(db).await;
    let tag = tag::<DB>("navigation");
    let mut ada = User {
        id: None,
        tag: tag.clone(),
        name: "ada".into(),
    };
    ada.insert(&db.pool).await.unwrap();
    let first = post(db, &tag, "first").await;
    let other = post(db, &tag, "other").await;
    comment(db, &first, Some(&ada), "c1").await;
    comment(db, &first, None, "c2").await;
    comment(db, &first, Some(&ada), "c3").await;
    comment(db, &other, Some(&ada), "elsewhere").await;

    let texts =
        |comments: &[Comment]| -> Vec<String> { comments.iter().map(|c| c.text.clone()).collect() };
    let comments = first
        .children::<Comment>()
        .order_by(|c| c.id.desc())
        .all(&db.pool)
        .await
        .unwrap();
    assert_eq!(texts(&comments), ["c3", "c2", "c1"]);
    let by_ada = first
        .children::<Comment>()
        .filter(|c| c.author_id.eq(ada.id.unwrap()))
        .count(&db.pool)
        .await
        .unwrap();
    assert_eq!(by_ada, 2);
    let streamed: Vec<Comment> = first
        .children::<Comment>()
        .stream(&db.pool)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(texts(&streamed), ["c1", "c2", "c3"]);

    // Back up: the post, the author; a NULL author is none.
    let c1 = &comments[2];
    let back: Option<Post> = c1.parent(&db.pool).await.unwrap();
    assert_eq!(back.as_ref(), Some(&first));
    let author: Option<User> = c1.parent(&db.pool).await.unwrap();
    assert_eq!(author.map(|a| a.name).as_deref(), Some("ada"));
    let nobody: Option<User> = comments[1].parent(&db.pool).await.unwrap();
    assert_eq!(nobody, None);
    // The author's comments, across posts.
    assert_eq!(ada.children::<Comment>().count(&db.pool).await.unwrap(), 3);

    // Writes through the children run every row's listeners.
    TRACE.lock().unwrap().retain(|(t, _)| *t != tag);
    let approved = first
        .children::<Comment>()
        .filter(|c| c.author_id.is_null())
        .update(|c| c.approved.set(true), &db.pool)
        .await
        .unwrap();
    assert_eq!(approved, 1);
    let deleted = first
        .children::<Comment>()
        .filter(|c| c.approved.eq(false))
        .delete(&db.pool)
        .await
        .unwrap();
    assert_eq!(deleted, 2);
    assert_eq!(
        trace(&tag),
        [
            "load c2",
            "before_update c2",
            "load c1",
            "load c3",
            "before_delete c1",
            "before_delete c3",
        ]
    );
    assert_eq!(db.count("comments").await, 2);

    // An unsaved post has no children.
    let unsaved = Post {
        id: None,
        tag: tag.clone(),
        title: "draft".into(),
        published: false,
    };
    assert_eq!(
        unsaved.children::<Comment>().count(&db.pool).await.unwrap(),
        0
    );
}

/// Counts the `SELECT`s of one table a connection runs: MySQL's session counter (every
/// `SELECT`), PostgreSQL's scans of the table in the current transaction (which must be
/// one), SQLite's statements as traced.
enum Selects {
    Sqlite(&'static Mutex<Vec<String>>),
    Postgres(i64),
    MySql(MysqlCounters),
}

impl Selects {
    async fn start<DB: Backend>(conn: &mut DB::Connection, table: &str) -> Self {
        let conn: &mut dyn Any = conn;
        if let Some(conn) = conn.downcast_mut::<sqlx::SqliteConnection>() {
            let traced: &'static Mutex<Vec<String>> = Box::leak(Box::default());
            trace_sqlite(conn, traced).await;
            return Selects::Sqlite(traced);
        }
        if let Some(conn) = conn.downcast_mut::<sqlx::PgConnection>() {
            // One plain scan a statement: an index scan of an `IN` list may count several
            // (one per run of the list's keys), a parallel one one per worker.
            for setting in [
                "SET LOCAL enable_indexscan = off",
                "SET LOCAL enable_bitmapscan = off",
                "SET LOCAL max_parallel_workers_per_gather = 0",
            ] {
                sqlx::query(setting).execute(&mut *conn).await.unwrap();
            }
            return Selects::Postgres(pg_scans(conn, table).await);
        }
        let conn = conn.downcast_mut::<sqlx::MySqlConnection>().unwrap();
        Selects::MySql(MysqlCounters::read(conn, &["Com_select"]).await)
    }

    async fn since<DB: Backend>(&self, conn: &mut DB::Connection, table: &str) -> i64 {
        let conn: &mut dyn Any = conn;
        match self {
            Selects::Sqlite(traced) => {
                let from = format!("FROM \"{table}\"");
                let traced = traced.lock().unwrap();
                traced
                    .iter()
                    .filter(|sql| sql.starts_with("SELECT") && sql.contains(&from))
                    .count() as i64
            }
            Selects::Postgres(before) => {
                let conn = conn.downcast_mut::<sqlx::PgConnection>().unwrap();
                pg_scans(conn, table).await - before
            }
            Selects::MySql(counters) => {
                let conn = conn.downcast_mut::<sqlx::MySqlConnection>().unwrap();
                counters.since(conn).await[0].1
            }
        }
    }
}

async fn pg_scans(conn: &mut sqlx::PgConnection, table: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT COALESCE(seq_scan, 0) + COALESCE(idx_scan, 0) \
         FROM pg_stat_xact_user_tables WHERE relname = $1",
    )
    .bind(table)
    .fetch_one(conn)
    .await
    .unwrap()
}

/// Every statement `conn` runs from now on, as text, into `traced`.
async fn trace_sqlite(conn: &mut sqlx::SqliteConnection, traced: &'static Mutex<Vec<String>>) {
    unsafe extern "C" fn each(
        _event: std::os::raw::c_uint,
        context: *mut std::os::raw::c_void,
        _statement: *mut std::os::raw::c_void,
        sql: *mut std::os::raw::c_void,
    ) -> std::os::raw::c_int {
        // SAFETY: `context` is the `&'static Mutex` given below; for SQLITE_TRACE_STMT, `sql`
        // is the statement's text, a NUL-terminated string SQLite owns during the call.
        let (traced, sql) = unsafe {
            (
                &*(context as *const Mutex<Vec<String>>),
                std::ffi::CStr::from_ptr(sql as *const std::os::raw::c_char),
            )
        };
        traced
            .lock()
            .unwrap()
            .push(sql.to_string_lossy().into_owned());
        0
    }
    let mut handle = conn.lock_handle().await.unwrap();
    let raw = handle.as_raw_handle().as_ptr();
    // SAFETY: the handle is locked, and `traced` outlives the connection.
    let rc = unsafe {
        libsqlite3_sys::sqlite3_trace_v2(
            raw,
            libsqlite3_sys::SQLITE_TRACE_STMT as std::os::raw::c_uint,
            Some(each),
            traced as *const Mutex<Vec<String>> as *mut std::os::raw::c_void,
        )
    };
    assert_eq!(rc, libsqlite3_sys::SQLITE_OK);
}

/// 10,000 posts with 3 comments each, and the comments' authors: one query for the
/// comments, one for the authors, `load` listeners on every model, each post's comments in
/// its place.
async fn eager_loading_is_one_query_per_relationship<DB: TestBackend>(db: &TestDb<DB>) {
    schema(db).await;
    let tag = tag::<DB>("eager");
    let mut users: Vec<User> = (0..10)
        .map(|n| User {
            id: None,
            tag: tag.clone(),
            name: format!("user {n}"),
        })
        .collect();
    User::insert_all(&mut users, &db.pool).await.unwrap();
    let mut posts: Vec<Post> = (0..10_000)
        .map(|n| Post {
            id: None,
            tag: tag.clone(),
            title: format!("post {n}"),
            published: n % 2 == 0,
        })
        .collect();
    Post::insert_all(&mut posts, &db.pool).await.unwrap();
    let mut comments: Vec<Comment> = posts
        .iter()
        .enumerate()
        .flat_map(|(n, post)| {
            let tag = tag.clone();
            let users = &users;
            (0..3).map(move |k| Comment {
                id: None,
                post_id: post.id.unwrap(),
                // Every 7th comment has no author.
                author_id: match (n * 3 + k) % 7 {
                    0 => None,
                    i => users[i % users.len()].id,
                },
                tag: tag.clone(),
                text: format!("comment {k} on {n}"),
                approved: false,
            })
        })
        .collect();
    Comment::insert_all(&mut comments, &db.pool).await.unwrap();
    TRACE.lock().unwrap().retain(|(t, _)| *t != tag);

    let mut tx = db.pool.begin().await.unwrap();
    let posts = Post::query().all(&mut tx).await.unwrap();
    assert_eq!(posts.len(), 10_000);

    let selects = Selects::start::<DB>(&mut tx, "comments").await;
    let loaded: Vec<Vec<Comment>> = Post::load_children(&posts, &mut tx).await.unwrap();
    assert_eq!(selects.since::<DB>(&mut tx, "comments").await, 1);

    let selects = Selects::start::<DB>(&mut tx, "users").await;
    let authors: Vec<Option<User>> = Comment::load_parents(loaded.iter().flatten(), &mut tx)
        .await
        .unwrap();
    assert_eq!(selects.since::<DB>(&mut tx, "users").await, 1);
    tx.commit().await.unwrap();

    assert_eq!(loaded.len(), 10_000);
    for (n, (post, comments)) in posts.iter().zip(&loaded).enumerate() {
        let texts: Vec<&str> = comments.iter().map(|c| c.text.as_str()).collect();
        let expected: Vec<String> = (0..3).map(|k| format!("comment {k} on {n}")).collect();
        assert_eq!(texts, expected, "{}", post.title);
        assert!(comments.iter().all(|c| c.post_id == post.id.unwrap()));
    }
    let flat: Vec<&Comment> = loaded.iter().flatten().collect();
    assert_eq!(authors.len(), 30_000);
    for (comment, author) in flat.iter().zip(&authors) {
        assert_eq!(author.as_ref().and_then(|a| a.id), comment.author_id);
    }
    // `load` listeners: every post, every comment, every distinct author once.
    let trace = trace(&tag);
    let count = |prefix: &str| trace.iter().filter(|e| e.starts_with(prefix)).count();
    assert_eq!(count("load post"), 10_000);
    assert_eq!(count("load comment"), 30_000);
    // Comment `n` is by user `n % 7 % 10`, none when 0: users 1 to 6.
    assert_eq!(count("load user"), 6);
}

/// More parents than one statement binds: one query per chunk, every child in its place.
async fn eager_loading_splits_the_keys_by_the_bind_limit<DB: TestBackend>(db: &TestDb<DB>) {
    if DB::DIALECT != Dialect::Sqlite {
        // The limit is 65,535 there: SQLite's 32,766 makes the same point with fewer rows.
        return;
    }
    schema(db).await;
    let tag = tag::<DB>("chunks");
    let mut posts: Vec<Post> = (0..33_000)
        .map(|n| Post {
            id: None,
            tag: tag.clone(),
            title: format!("post {n}"),
            published: true,
        })
        .collect();
    Post::insert_all(&mut posts, &db.pool).await.unwrap();
    let last = posts.last().unwrap().clone();
    let first = posts[0].clone();
    for on in [&first, &last] {
        comment(db, on, None, &format!("on {}", on.title)).await;
    }
    let mut conn = db.pool.acquire().await.unwrap();
    let selects = Selects::start::<DB>(&mut conn, "comments").await;
    let loaded: Vec<Vec<Comment>> = Post::load_children(&posts, &mut conn).await.unwrap();
    assert_eq!(selects.since::<DB>(&mut conn, "comments").await, 2);
    assert_eq!(loaded[0][0].text, "on post 0");
    assert_eq!(loaded[32_999][0].text, "on post 32999");
    assert_eq!(loaded.iter().map(Vec::len).sum::<usize>(), 2);
}

/// A tree's navigation: a category's children are categories.
#[derive(Debug, Clone, PartialEq, Model)]
#[model(table = "categories")]
struct Category {
    id: Option<i64>,
    #[model(references = Self, on_delete = "cascade")]
    parent_id: Option<i64>,
    name: String,
}

async fn a_tree_navigates_to_its_children_and_parent<DB: TestBackend>(db: &TestDb<DB>) {
    Category::create_table(&db.pool).await.unwrap();
    let mut root = Category {
        id: None,
        parent_id: None,
        name: "root".into(),
    };
    root.insert(&db.pool).await.unwrap();
    let mut leaves: Vec<Category> = ["a", "b"]
        .into_iter()
        .map(|name| Category {
            id: None,
            parent_id: root.id,
            name: name.into(),
        })
        .collect();
    Category::insert_all(&mut leaves, &db.pool).await.unwrap();

    let children = root.children::<Category>().all(&db.pool).await.unwrap();
    assert_eq!(children, leaves);
    let parent: Option<Category> = leaves[0].parent(&db.pool).await.unwrap();
    assert_eq!(parent.as_ref(), Some(&root));
    let none: Option<Category> = root.parent(&db.pool).await.unwrap();
    assert_eq!(none, None);
    let grouped: Vec<Vec<Category>> = Category::load_children(&[root.clone()], &db.pool)
        .await
        .unwrap();
    assert_eq!(grouped, [leaves]);
}

/// Filters across a relationship: posts with a comment by someone, comments on published
/// posts; combined with the model's own filter, negated, nested in a tree, and as the
/// condition of set-based writes.
async fn filters_cross_relationships<DB: TestBackend>(db: &TestDb<DB>) {
    schema(db).await;
    let tag = tag::<DB>("filters");
    let mut users: Vec<User> = ["ada", "bob"]
        .into_iter()
        .map(|name| User {
            id: None,
            tag: tag.clone(),
            name: name.into(),
        })
        .collect();
    User::insert_all(&mut users, &db.pool).await.unwrap();
    let (ada, bob) = (&users[0], &users[1]);
    let first = post(db, &tag, "first").await;
    let second = post(db, &tag, "second").await;
    let mut draft = post(db, &tag, "draft").await;
    draft.published = false;
    draft.update(&db.pool).await.unwrap();
    comment(db, &first, Some(ada), "ada on first").await;
    comment(db, &second, Some(bob), "bob on second").await;
    comment(db, &draft, Some(ada), "ada on draft").await;

    let titles = |posts: Vec<Post>| -> Vec<String> { posts.into_iter().map(|p| p.title).collect() };
    let ada_id = ada.id.unwrap();
    let by_ada = Post::filter(|_| Post::any_child::<Comment>(|c| c.author_id.eq(ada_id)))
        .all(&db.pool)
        .await
        .unwrap();
    assert_eq!(titles(by_ada), ["first", "draft"]);
    let published_by_ada = Post::filter(|p| {
        p.published
            .eq(true)
            .and(Post::any_child::<Comment>(|c| c.author_id.eq(ada_id)))
    })
    .all(&db.pool)
    .await
    .unwrap();
    assert_eq!(titles(published_by_ada), ["first"]);
    let none_by_ada = Post::filter(|_| !Post::any_child::<Comment>(|c| c.author_id.eq(ada_id)))
        .all(&db.pool)
        .await
        .unwrap();
    assert_eq!(titles(none_by_ada), ["second"]);
    // Text patterns and a stream (whose keyset condition follows the filter) bind alike.
    let streamed: Vec<Post> =
        Post::filter(|_| Post::any_child::<Comment>(|c| c.text.starts_with("bob")))
            .stream(&db.pool)
            .try_collect()
            .await
            .unwrap();
    assert_eq!(titles(streamed), ["second"]);

    let on_published = Comment::filter(|_| Comment::has_parent::<Post>(|p| p.published.eq(true)))
        .order_by(|c| c.id)
        .all(&db.pool)
        .await
        .unwrap();
    let texts: Vec<&str> = on_published.iter().map(|c| c.text.as_str()).collect();
    assert_eq!(texts, ["ada on first", "bob on second"]);
    // Two levels: comments on posts that have a comment by bob.
    let near_bob = Comment::filter(|_| {
        Comment::has_parent::<Post>(|_| Post::any_child::<Comment>(|c| c.author_id.eq(bob.id)))
    })
    .count(&db.pool)
    .await
    .unwrap();
    assert_eq!(near_bob, 1);

    // As the condition of set-based writes, every row's listeners run.
    let approved = Comment::filter(|_| Comment::has_parent::<Post>(|p| p.published.eq(false)))
        .update(|c| c.approved.set(true), &db.pool)
        .await
        .unwrap();
    assert_eq!(approved, 1);
    let deleted = Post::filter(|_| Post::any_child::<Comment>(|c| c.approved.eq(true)))
        .delete(&db.pool)
        .await
        .unwrap();
    assert_eq!(deleted, 1);
    assert!(trace(&tag).contains(&"before_delete ada on draft".to_owned()));
    assert_eq!(db.count("posts").await, 2);
}

/// A tree filters on its own model: each level of `EXISTS` has an alias of its own.
async fn a_tree_filters_across_its_levels<DB: TestBackend>(db: &TestDb<DB>) {
    Category::create_table(&db.pool).await.unwrap();
    let mut add = Vec::new();
    for (name, parent) in [
        ("root", None),
        ("a", Some(0)),
        ("b", Some(1)),
        ("other", None),
    ] {
        let mut category = Category {
            id: None,
            parent_id: parent.map(|p: usize| {
                add.iter()
                    .map(|c: &Category| c.id)
                    .nth(p)
                    .flatten()
                    .unwrap()
            }),
            name: name.to_owned(),
        };
        category.insert(&db.pool).await.unwrap();
        add.push(category);
    }
    let names =
        |found: Vec<Category>| -> Vec<String> { found.into_iter().map(|c| c.name).collect() };
    let grandparents = Category::filter(|_| {
        Category::any_child::<Category>(|_| Category::any_child::<Category>(|c| c.name.eq("b")))
    })
    .all(&db.pool)
    .await
    .unwrap();
    assert_eq!(names(grandparents), ["root"]);
    let under_root = Category::filter(|_| Category::has_parent::<Category>(|p| p.name.eq("root")))
        .all(&db.pool)
        .await
        .unwrap();
    assert_eq!(names(under_root), ["a"]);
}

/// Many-to-many through a join model, itself a model with listeners and a composite key:
/// a post's tags are its `PostTag` rows' parents.
#[derive(Debug, Clone, PartialEq, Model)]
#[model(table = "tags")]
struct Tag {
    id: Option<i64>,
    name: String,
}

#[derive(Debug, Clone, PartialEq, Model)]
#[model(table = "post_tags")]
#[listens_for(before_delete, untagging)]
struct PostTag {
    #[model(primary_key, references = Post, on_delete = "cascade")]
    post_id: i64,
    #[model(primary_key, references = Tag, on_delete = "cascade")]
    tag_id: i64,
}

static UNTAGGED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

fn untagging(_: &PostTag) {
    UNTAGGED.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
}

async fn many_to_many_goes_through_the_join_model<DB: TestBackend>(db: &TestDb<DB>) {
    schema(db).await;
    let tag_name = tag::<DB>("many-to-many");
    let mut tags: Vec<Tag> = ["rust", "sql", "orm"]
        .into_iter()
        .map(|name| Tag {
            id: None,
            name: format!("{name} {tag_name}"),
        })
        .collect();
    Tag::insert_all(&mut tags, &db.pool).await.unwrap();
    let first = post(db, &tag_name, "first").await;
    let second = post(db, &tag_name, "second").await;
    let mut links = vec![
        PostTag {
            post_id: first.id.unwrap(),
            tag_id: tags[0].id.unwrap(),
        },
        PostTag {
            post_id: first.id.unwrap(),
            tag_id: tags[2].id.unwrap(),
        },
        PostTag {
            post_id: second.id.unwrap(),
            tag_id: tags[0].id.unwrap(),
        },
    ];
    PostTag::insert_all(&mut links, &db.pool).await.unwrap();

    // A post's tags: its links, then their tags (two queries, for any number of posts).
    let posts = [first.clone(), second.clone()];
    let links: Vec<Vec<PostTag>> = Post::load_children(&posts, &db.pool).await.unwrap();
    let names = |tags: Vec<Option<Tag>>| -> Vec<String> {
        tags.into_iter()
            .map(|t| t.unwrap().name.split(' ').next().unwrap().to_owned())
            .collect()
    };
    let of_first: Vec<Option<Tag>> = PostTag::load_parents(&links[0], &db.pool).await.unwrap();
    assert_eq!(names(of_first), ["rust", "orm"]);
    // A tag's posts, as a filter across the join model.
    let rust = tags[0].id;
    let tagged_rust = Post::filter(|_| Post::any_child::<PostTag>(|l| l.tag_id.eq(rust.unwrap())))
        .count(&db.pool)
        .await
        .unwrap();
    assert_eq!(tagged_rust, 2);
    // Deleting a tag deletes its links through their listeners.
    let before = UNTAGGED.load(std::sync::atomic::Ordering::SeqCst);
    tags[0].delete(&db.pool).await.unwrap();
    assert!(UNTAGGED.load(std::sync::atomic::Ordering::SeqCst) - before >= 2);
    assert_eq!(
        first.children::<PostTag>().count(&db.pool).await.unwrap(),
        1
    );
    assert_eq!(
        second.children::<PostTag>().count(&db.pool).await.unwrap(),
        0
    );
}

per_backend!(
    many_to_many_goes_through_the_join_model,
    filters_cross_relationships,
    a_tree_filters_across_its_levels,
    navigation_goes_both_ways,
    eager_loading_is_one_query_per_relationship,
    eager_loading_splits_the_keys_by_the_bind_limit,
    a_tree_navigates_to_its_children_and_parent,
);
