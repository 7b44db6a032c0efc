// @ts-check

/**
 * Inventories: what each automation object (a ResourceSet) applied into which cluster, in Flux's
 * entry format, and whether the last apply finished. During an apply the row holds the union of the
 * old and the new set, so an interrupted run never forgets an object it may have created.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.createTable('image_automation_inventories', table => {
    table.comment('What each automation object applied into each cluster');
    table
      .string('owner', 512)
      .notNullable()
      .comment('The applying object, e.g. ResourceSet/<namespace>/<name>');
    table.string('cluster', 255).notNullable().comment('Cluster name');
    table
      .text('entries')
      .notNullable()
      .comment('JSON list of {id, v} inventory entries');
    table
      .string('state', 16)
      .notNullable()
      .comment('applying | applied | failed');
    table
      .string('last_applied_revision', 128)
      .nullable()
      .comment('Revision of the last complete apply');
    table.text('message').nullable().comment('Why the last apply failed');
    table
      .timestamp('updated_at', { useTz: true })
      .notNullable()
      .defaultTo(knex.fn.now());
    table.primary(['owner', 'cluster']);
    table.index(['cluster'], 'image_automation_inventories_cluster_idx');
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.dropTable('image_automation_inventories');
};
