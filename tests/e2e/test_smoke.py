from tests.support import bearer, build_world


def test_person_reads_own_record_in_full_and_others_see_it_masked(ctx, admin, client):
    world = build_world(ctx, admin)
    own = client.get(f"/api/v1/persons/{world.person.id}", headers=bearer(client, "employee"))
    assert own.status_code == 200
    assert own.json()["id_number"] == world.person.id_number
    staff = client.get(f"/api/v1/persons/{world.person.id}", headers=bearer(client, "reviewer-user"))
    assert staff.json()["id_number"] != world.person.id_number
    assert staff.json()["id_number"].endswith(world.person.id_number[-4:])
