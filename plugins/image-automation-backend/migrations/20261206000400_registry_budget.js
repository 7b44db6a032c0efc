// @ts-check

/**
 * `imageAutomation.registry.requestBudget` counted for the whole fleet (issue #16): how many
 * requests to a registry host the replicas have claimed in the current budget window. Each
 * replica claims requests in blocks with a conditional update, so together they never send more
 * than the budget in one window.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.createTable('image_automation_registry_budget', table => {
    table
      .string('host', 255)
      .primary()
      .comment('registry host and port, as in image references');
    table
      .text('window_start')
      .notNullable()
      .comment('ISO time the current budget window started');
    table
      .integer('used')
      .notNullable()
      .comment('requests claimed by replicas in that window');
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.dropTable('image_automation_registry_budget');
};
