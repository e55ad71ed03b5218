//! The Auto Scaling actions that change something: desired capacity, termination, protection,
//! lifecycle actions.

use super::super::world::World;
use super::activity::DesiredChange;
use super::autoscaling_read::activity_member;
use super::form::Form;
use super::lifecycle::ActionTarget;
use super::xml::Xml;
use super::AwsError;

/// At most this many instance ids per `SetInstanceProtection`.
const PROTECTION_BATCH: usize = 50;

pub fn set_desired(world: &mut World, form: &Form, _: bool, _: &mut Xml) -> Result<(), AwsError> {
    let group = form.required("AutoScalingGroupName")?.to_string();
    let desired = form.required_int("DesiredCapacity")?;
    let honor = form.bool("HonorCooldown")?.unwrap_or(false);
    world.aws_set_desired(&group, desired, honor, DesiredChange::UserRequest)
}

pub fn terminate(world: &mut World, form: &Form, _: bool, xml: &mut Xml) -> Result<(), AwsError> {
    let instance_id = form.required("InstanceId")?.to_string();
    let decrement = form.required_bool("ShouldDecrementDesiredCapacity")?;
    let activity_id = world.aws_terminate_instance(&instance_id, decrement)?;
    if let Some(activity) = world.aws.activities.iter().find(|a| a.id == activity_id) {
        activity_member(world, xml, "Activity", activity);
    }
    Ok(())
}

pub fn protection(world: &mut World, form: &Form, _: bool, _: &mut Xml) -> Result<(), AwsError> {
    let ids = form.member_list("InstanceIds").unwrap_or_default();
    if ids.is_empty() {
        return Err(AwsError::validation(
            "1 validation error detected: Value null at 'instanceIds' failed to satisfy constraint: Member must not be null",
        ));
    }
    if ids.len() > PROTECTION_BATCH {
        return Err(AwsError::validation(format!(
            "1 validation error detected: Value '[{}]' at 'instanceIds' failed to satisfy constraint: Member must have length less than or equal to {PROTECTION_BATCH}",
            ids.join(", ")
        )));
    }
    let group = form.required("AutoScalingGroupName")?.to_string();
    let protected = form.required_bool("ProtectedFromScaleIn")?;
    world.aws_set_protection(&group, &ids, protected)
}

/// The instance a lifecycle call names: by `InstanceId` or by `LifecycleActionToken`.
fn action_target(form: &Form) -> Result<ActionTarget, AwsError> {
    match (form.get("InstanceId"), form.get("LifecycleActionToken")) {
        (Some(id), _) => Ok(ActionTarget::InstanceId(id.to_string())),
        (None, Some(token)) => Ok(ActionTarget::Token(token.to_string())),
        (None, None) => {
            Err(AwsError::validation("Either InstanceId or LifecycleActionToken must be specified."))
        }
    }
}

pub fn complete(world: &mut World, form: &Form, _: bool, _: &mut Xml) -> Result<(), AwsError> {
    let hook = form.required("LifecycleHookName")?.to_string();
    let group = form.required("AutoScalingGroupName")?.to_string();
    let result = form.required("LifecycleActionResult")?.to_string();
    let target = action_target(form)?;
    world.aws_complete_action(&group, &hook, &target, &result)
}

pub fn heartbeat(world: &mut World, form: &Form, _: bool, _: &mut Xml) -> Result<(), AwsError> {
    let hook = form.required("LifecycleHookName")?.to_string();
    let group = form.required("AutoScalingGroupName")?.to_string();
    let target = action_target(form)?;
    world.aws_record_heartbeat(&group, &hook, &target)
}
