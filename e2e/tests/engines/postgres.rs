use tripnest_e2e::Stack;

#[tokio::test]
async fn postgres_writes_a_row_and_reads_it_back() {
    let db = Stack::load().fresh_database().await;
    let pool = db.pool.clone();
    sqlx::query("CREATE TABLE bookings (id uuid PRIMARY KEY, rooms int NOT NULL CHECK (rooms > 0))")
        .execute(&pool)
        .await
        .expect("create table");
    let id = uuid::Uuid::new_v4();
    sqlx::query("INSERT INTO bookings (id, rooms) VALUES ($1, $2)").bind(id).bind(3).execute(&pool).await.expect("insert");

    let rooms: i32 = sqlx::query_scalar("SELECT rooms FROM bookings WHERE id = $1").bind(id).fetch_one(&pool).await.expect("select");
    assert_eq!(rooms, 3);

    let err = sqlx::query("INSERT INTO bookings (id, rooms) VALUES ($1, 0)")
        .bind(uuid::Uuid::new_v4())
        .execute(&pool)
        .await
        .expect_err("check constraint");
    let db = err.as_database_error().expect("a database error");
    assert_eq!(db.code().as_deref(), Some("23514"), "CHECK violations are reported by the real server");
}
