/*
 * Objects, their schedule and lease; ImageRepository scans and the tags they saw.
 * Times are ISO-8601 UTC strings (fixed width, so they compare and sort as text on every database).
 */

/** @param {import('knex').Knex} knex */
exports.up = async function up(knex) {
  await knex.schema.createTable('image_automation_objects', table => {
    table.comment(
      'Automation objects (Flux kinds) with their status, schedule and lease',
    );
    table.string('id', 600).primary().comment('<kind>/<namespace>/<name>');
    table.string('api_version', 255).notNullable();
    table.string('kind', 63).notNullable();
    table.string('namespace', 63).notNullable();
    table.string('name', 253).notNullable();
    table.string('entity_ref', 600).nullable().comment('Owning catalog entity');
    table
      .string('source_key', 800)
      .notNullable()
      .comment('The source that declared it');
    table.string('source_type', 16).notNullable();
    table.text('source_location').notNullable();
    table
      .text('manifest')
      .notNullable()
      .comment('The document as declared, JSON');
    table.string('manifest_hash', 64).notNullable();
    table.integer('generation').notNullable().defaultTo(1);
    table.text('status').notNullable().defaultTo('{}');
    table.boolean('suspended').notNullable().defaultTo(false);
    table.string('suspended_by', 600).nullable();
    table.string('suspended_at', 30).nullable();
    table.string('reconcile_requested_at', 30).nullable();
    table.string('reconcile_requested_by', 600).nullable();
    table.string('next_run_at', 30).notNullable();
    table.string('last_run_at', 30).nullable();
    table.string('lease_owner', 255).nullable();
    table.string('lease_expires_at', 30).nullable();
    table.string('created_at', 30).notNullable();
    table.string('updated_at', 30).notNullable();
    table.index(['entity_ref'], 'image_automation_objects_entity_idx');
    table.index(['source_key'], 'image_automation_objects_source_idx');
    table.index(['next_run_at'], 'image_automation_objects_due_idx');
  });

  await knex.schema.createTable('image_automation_scans', table => {
    table.comment('One row per ImageRepository scan attempt');
    table.increments('id');
    table
      .string('object_id', 600)
      .notNullable()
      .references('id')
      .inTable('image_automation_objects')
      .onDelete('CASCADE');
    table.string('canonical_image_name', 600).nullable();
    table.string('started_at', 30).notNullable();
    table.integer('duration_ms').notNullable();
    table.string('outcome', 16).notNullable();
    table.text('error').nullable();
    table.integer('tag_count').notNullable().defaultTo(0);
    table.string('revision', 80).nullable();
    table.text('tags_added').notNullable().defaultTo('[]');
    table.text('tags_removed').notNullable().defaultTo('[]');
    table.integer('requests').notNullable().defaultTo(0);
    table.index(
      ['object_id', 'started_at'],
      'image_automation_scans_object_time_idx',
    );
  });

  await knex.schema.createTable('image_automation_tags', table => {
    table.comment(
      'Every tag an ImageRepository has seen, per object (not shared across credentials)',
    );
    table
      .string('object_id', 600)
      .notNullable()
      .references('id')
      .inTable('image_automation_objects')
      .onDelete('CASCADE');
    table.string('tag', 128).notNullable();
    table.string('digest', 80).nullable();
    table.string('first_seen_at', 30).notNullable();
    table.string('last_seen_at', 30).notNullable();
    table.string('gone_since', 30).nullable();
    table.primary(['object_id', 'tag']);
    table.index(
      ['object_id', 'gone_since'],
      'image_automation_tags_present_idx',
    );
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.dropTable('image_automation_tags');
  await knex.schema.dropTable('image_automation_scans');
  await knex.schema.dropTable('image_automation_objects');
};
