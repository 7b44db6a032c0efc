/*
 * Events, as the Flux controllers emit them: Normal when an object becomes ready or its ready
 * message changes, Warning when it fails.
 */

/** @param {import('knex').Knex} knex */
exports.up = async function up(knex) {
  await knex.schema.createTable('image_automation_events', table => {
    table.comment('Normal and Warning events of automation objects');
    table.increments('id');
    table
      .string('object_id', 600)
      .notNullable()
      .references('id')
      .inTable('image_automation_objects')
      .onDelete('CASCADE');
    table.string('time', 30).notNullable();
    table.string('type', 16).notNullable();
    table.string('reason', 128).notNullable();
    table.text('message').notNullable();
    table.index(['object_id', 'id'], 'image_automation_events_object_idx');
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.dropTable('image_automation_events');
};
